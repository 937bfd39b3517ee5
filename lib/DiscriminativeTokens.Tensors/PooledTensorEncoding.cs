using System.Buffers;
using Google.Protobuf;

namespace DiscriminativeTokens.Tensors;

/// <summary>
/// A tensor encoded into a buffer rented from <see cref="ArrayPool{T}"/>, for hot paths that send many large tensors
/// (images, gradients): the one copy lands in memory that is reused, instead of a fresh tensor-sized array that costs
/// page faults and large-object-heap collections. The message and chunks view the rented buffer: send them (a gRPC
/// write serializes the message before its task completes), then dispose, which returns the buffer. Using the message
/// or chunks after disposal is a bug.
/// </summary>
public sealed class PooledTensorEncoding : IDisposable
{
    private byte[]? _rented;

    private PooledTensorEncoding(TensorLayout layout, byte[] rented)
    {
        Layout = layout;
        _rented = rented;
    }

    public TensorLayout Layout { get; }

    /// <summary>The encoded bytes (valid until disposal).</summary>
    public ReadOnlyMemory<byte> Data =>
        (_rented ?? throw new ObjectDisposedException(nameof(PooledTensorEncoding))).AsMemory(0, Layout.ByteLength);

    /// <summary>Encodes <paramref name="tensor"/> (any device or layout) with one copy into a pooled buffer.</summary>
    public static PooledTensorEncoding Encode(TorchTensor tensor, TensorLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        HostByteOrder.EnsureLittleEndian();
        var layout = TensorLayout.Create(tensor.dtype.ToDType(), tensor.shape, limits);
        var rented = ArrayPool<byte>.Shared.Rent(layout.ByteLength);
        try
        {
            TensorCodec.CopyBytes(tensor, rented.AsSpan(0, layout.ByteLength));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(rented);
            throw;
        }
        return new PooledTensorEncoding(layout, rented);
    }

    /// <summary>The whole tensor as one message viewing the pooled buffer.</summary>
    public WireTensor ToMessage()
    {
        var message = new WireTensor { Dtype = Layout.DType, Data = UnsafeByteOperations.UnsafeWrap(Data) };
        message.Shape.AddRange(Layout.ShapeArray);
        return message;
    }

    /// <summary>Chunks of at most <paramref name="maxChunkBytes"/> bytes, each viewing its slice of the pooled buffer.</summary>
    public IEnumerable<TensorChunk> Split(int maxChunkBytes = TensorChunker.DefaultMaxChunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunkBytes);
        return TensorChunker.Slice(Layout, Data, maxChunkBytes);
    }

    public void Dispose()
    {
        var rented = Interlocked.Exchange(ref _rented, null);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }
}
