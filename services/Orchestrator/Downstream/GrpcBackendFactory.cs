using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// Creates gRPC backends for resolved endpoints, all with the same <see cref="DownstreamOptions"/>. Each backend has
/// its own channel and circuit breaker; the caller disposes it.
/// </summary>
public sealed class GrpcBackendFactory(DownstreamOptions? options = null) : IBackendFactory
{
    public DownstreamOptions Options { get; } = (options ?? DownstreamOptions.Default).Validated();

    public IDiffusionBackend CreateDiffusion(string name, string address) => new GrpcDiffusionBackend(name, address, Options);

    public IClassifierBackend CreateClassifier(string name, string address) => new GrpcClassifierBackend(name, address, Options);
}
