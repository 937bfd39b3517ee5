namespace DiscriminativeTokens.Tensors;

/// <summary>
/// One-call reassembly of a chunk stream that carries exactly one tensor, e.g. a gRPC request stream read with
/// <c>requestStream.ReadAllAsync()</c>.
/// </summary>
public static class TensorChunkStreams
{
    /// <summary>Reads every chunk and returns the whole-tensor message.</summary>
    public static async Task<WireTensor> ReadMessageAsync(
        this IAsyncEnumerable<TensorChunk> chunks, TensorLimits? limits = null, CancellationToken cancellationToken = default)
    {
        using var assembler = new TensorMessageAssembler(limits);
        return await assembler.AddAllAsync(chunks, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads every chunk and returns the tensor on <paramref name="device"/> (default CPU).</summary>
    public static async Task<TorchTensor> ReadTensorAsync(
        this IAsyncEnumerable<TensorChunk> chunks,
        torch.Device? device = null,
        TensorLimits? limits = null,
        CancellationToken cancellationToken = default)
    {
        using var assembler = new TorchTensorAssembler(device, limits);
        return await assembler.AddAllAsync(chunks, cancellationToken).ConfigureAwait(false);
    }
}
