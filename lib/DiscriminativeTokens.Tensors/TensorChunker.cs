using Google.Protobuf;

namespace DiscriminativeTokens.Tensors;

/// <summary>
/// Splits a tensor into <see cref="TensorChunk"/> messages for streaming. The tensor is encoded once; every chunk's
/// data is a slice of that one buffer, wrapped without copying.
/// </summary>
public static class TensorChunker
{
    /// <summary>1 MiB: well under gRPC's default 4 MB message limit, large enough that per-message cost is negligible.</summary>
    public const int DefaultMaxChunkBytes = 1 << 20;

    /// <summary>Encodes a TorchSharp tensor once and splits it into chunks of at most <paramref name="maxChunkBytes"/> bytes.</summary>
    public static IEnumerable<TensorChunk> Split(
        TorchTensor tensor, int maxChunkBytes = DefaultMaxChunkBytes, TensorLimits? limits = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunkBytes);
        var data = TensorCodec.EncodeBytes(tensor, limits, out var layout);
        return Slice(layout, data, maxChunkBytes);
    }

    /// <summary>
    /// Splits a whole-tensor message into chunks of at most <paramref name="maxChunkBytes"/> bytes. The message is
    /// validated now, not when the sequence is enumerated.
    /// </summary>
    public static IEnumerable<TensorChunk> Split(
        WireTensor message, int maxChunkBytes = DefaultMaxChunkBytes, TensorLimits? limits = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunkBytes);
        var layout = TensorLayout.FromMessage(message, limits);
        return Slice(layout, message.Data.Memory, maxChunkBytes);
    }

    /// <summary>How many chunks <see cref="Split(WireTensor, int, TensorLimits?)"/> produces for this many bytes.</summary>
    public static int ChunkCount(int byteLength, int maxChunkBytes = DefaultMaxChunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunkBytes);
        return byteLength == 0 ? 1 : (int)(((long)byteLength + maxChunkBytes - 1) / maxChunkBytes);
    }

    internal static IEnumerable<TensorChunk> Slice(TensorLayout layout, ReadOnlyMemory<byte> data, int maxChunkBytes)
    {
        var header = new TensorHeader { Dtype = layout.DType };
        header.Shape.AddRange(layout.ShapeArray);

        // A zero-size tensor still needs one chunk to carry its header.
        var offset = 0;
        uint index = 0;
        do
        {
            var length = Math.Min(maxChunkBytes, data.Length - offset);
            var chunk = new TensorChunk
            {
                Index = index,
                Offset = offset,
                Data = UnsafeByteOperations.UnsafeWrap(data.Slice(offset, length)),
                Last = offset + length == data.Length,
            };
            if (index == 0)
            {
                chunk.Header = header;
            }

            yield return chunk;
            offset += length;
            index++;
        }
        while (offset < data.Length);
    }
}
