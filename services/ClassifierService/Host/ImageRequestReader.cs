using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// Reassembles the image batch of a client-streamed request: each message may carry the next
/// <see cref="TensorChunk"/> of the images, the first one also the call's own fields. The header is checked against the
/// classifier's limits as soon as it arrives, so an oversized or malformed batch is refused before its data is sent.
/// </summary>
internal static class ImageRequestReader
{
    /// <param name="chunkOf">The message's image chunk, or null when it carries none.</param>
    /// <param name="inspect">Reads (first message, index 0) or checks (later messages) the call's own fields.</param>
    public static async Task<TorchSharp.torch.Tensor> ReadAsync<TRequest>(
        IAsyncStreamReader<TRequest> requests,
        Func<TRequest, TensorChunk?> chunkOf,
        Action<TRequest, int> inspect,
        ClassifierInfo info,
        CancellationToken cancellationToken)
    {
        using var assembler = new TorchTensorAssembler();
        int index = 0;
        while (await requests.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var request = requests.Current;
            inspect(request, index++);
            if (chunkOf(request) is not { } chunk) continue;
            bool headerSeen = assembler.Layout is not null;
            assembler.Add(chunk);
            if (!headerSeen && assembler.Layout is { } layout)
                CheckHeader(layout, info);
        }
        if (index == 0)
            throw new ClassifierInputException("The request stream held no messages; send the images as TensorChunk messages " +
                                               "(float32 [N, 3, H, W], RGB in [0, 1]), the first one with the header.");
        return assembler.GetResult();
    }

    /// <summary>What can be refused from the header alone (the pipeline checks everything again on the tensor).</summary>
    private static void CheckHeader(TensorLayout layout, ClassifierInfo info)
    {
        var shape = layout.Shape;
        if (layout.DType is not (DType.Float32 or DType.Float16 or DType.Bfloat16 or DType.Float64))
            throw new ClassifierInputException($"Images must be float32 RGB in [0, 1]; the header says {layout}.");
        if (shape.Length != 4 || shape[1] != ClassifierInfo.Channels)
            throw new ClassifierInputException($"Images must have shape [N, 3, H, W] (RGB); got {TensorLayout.Format(shape)}.");
        if (shape[0] > info.MaxBatchSize)
            throw new ClassifierInputException($"The batch holds {shape[0]} images; at most {info.MaxBatchSize} are accepted per call.");
        if (shape[2] > info.MaxImageSide || shape[3] > info.MaxImageSide)
            throw new ClassifierInputException($"Images of {shape[2]}x{shape[3]} are outside the accepted sides " +
                                               $"{info.MinImageSide}..{info.MaxImageSide} pixels.");
    }
}
