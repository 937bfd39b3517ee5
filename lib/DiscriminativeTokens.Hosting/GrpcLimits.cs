namespace DiscriminativeTokens.Hosting;

/// <summary>Message limits of every service, sized for tensor chunking rather than whole tensors.</summary>
public static class GrpcLimits
{
    /// <summary>Largest chunk of tensor bytes a caller may ask for (max_chunk_bytes fields).</summary>
    public const int MaxChunkBytes = 4 * 1024 * 1024;

    /// <summary>Default chunk size of tensors the services send.</summary>
    public const int DefaultChunkBytes = 1024 * 1024;

    /// <summary>Largest message a service sends or accepts: one maximal chunk plus generous room for other fields.</summary>
    public const int MaxMessageBytes = Contracts.Channels.DctChannel.MaxMessageBytes;
}
