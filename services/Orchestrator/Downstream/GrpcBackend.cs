namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// What the gRPC backends share: the connection to their service (channel and circuit breaker), either their own or
/// shared with other backends of the same service through <see cref="GrpcBackendFactory"/>, which then owns it.
/// </summary>
public abstract class GrpcBackend : IDisposable
{
    private readonly bool _ownsConnection;

    private protected GrpcBackend(DownstreamConnection connection, bool ownsConnection)
    {
        Connection = connection;
        _ownsConnection = ownsConnection;
    }

    private protected DownstreamConnection Connection { get; }

    public string Name => Connection.Name;
    public string Address => Connection.Address;

    /// <summary>Closes the connection if this backend owns it.</summary>
    public void Dispose()
    {
        if (_ownsConnection) Connection.Dispose();
        GC.SuppressFinalize(this);
    }
}
