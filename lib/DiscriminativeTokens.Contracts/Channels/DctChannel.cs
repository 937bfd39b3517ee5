using Grpc.Net.Client;

namespace DiscriminativeTokens.Contracts.Channels;

/// <summary>
/// Client channels configured for this project's services: message limits matching the servers' (tensor chunks of up
/// to 4 MiB plus other fields), HTTP/2 keep-alive pings so idle long-running streams survive, several HTTP/2
/// connections when one is saturated by streams, and no HttpClient-level timeout (its 100 s default would kill long
/// streams; callers set per-call deadlines instead).
/// </summary>
public static class DctChannel
{
    /// <summary>Largest message a client sends or accepts; equals the services' limit.</summary>
    public const int MaxMessageBytes = 8 * 1024 * 1024;

    public static GrpcChannel Create(string address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new ArgumentException($"'{address}' is not a service address; use http://host:port.", nameof(address));
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        return GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
        });
    }
}
