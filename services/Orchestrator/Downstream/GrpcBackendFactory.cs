using System.Collections.Concurrent;
using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// Creates gRPC backends for resolved endpoints, all with the same <see cref="DownstreamOptions"/>. Backends of the
/// same service (kind, name and address) share one channel and one circuit breaker, so every job sees that a service
/// is down as soon as one job has found out, and no job keeps hammering it. The factory owns those connections.
/// </summary>
public sealed class GrpcBackendFactory(DownstreamOptions? options = null) : IBackendFactory, IDisposable
{
    private readonly ConcurrentDictionary<(string Kind, string Name, string Address), Lazy<DownstreamConnection>> _connections = new();

    public DownstreamOptions Options { get; } = (options ?? DownstreamOptions.Default).Validated();

    public IDiffusionBackend CreateDiffusion(string name, string address) =>
        new GrpcDiffusionBackend(Connection("diffusion", name, address), ownsConnection: false);

    public IClassifierBackend CreateClassifier(string name, string address) =>
        new GrpcClassifierBackend(Connection("classifier", name, address), ownsConnection: false);

    private DownstreamConnection Connection(string kind, string name, string address) =>
        _connections.GetOrAdd((kind, name, address), key => new Lazy<DownstreamConnection>(
            () => new DownstreamConnection(key.Kind, key.Name, key.Address, Options))).Value;

    public void Dispose()
    {
        foreach (var connection in _connections.Values)
            if (connection.IsValueCreated) connection.Value.Dispose();
        _connections.Clear();
    }
}
