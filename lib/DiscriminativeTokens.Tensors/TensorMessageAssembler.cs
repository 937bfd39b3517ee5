using Google.Protobuf;

namespace DiscriminativeTokens.Tensors;

/// <summary>Reassembles chunks into a whole-tensor message whose data wraps the one destination array.</summary>
public sealed class TensorMessageAssembler(TensorLimits? limits = null) : TensorChunkAssembler<WireTensor>(limits)
{
    private byte[]? _buffer;

    protected override Span<byte> Destination => _buffer;

    protected override void AllocateDestination(TensorLayout layout) =>
        _buffer = GC.AllocateUninitializedArray<byte>(layout.ByteLength);

    protected override WireTensor TakeResult(TensorLayout layout)
    {
        var message = new WireTensor { Dtype = layout.DType, Data = UnsafeByteOperations.UnsafeWrap(_buffer) };
        message.Shape.AddRange(layout.ShapeArray);
        _buffer = null;
        return message;
    }

    protected override void ReleaseDestination() => _buffer = null;
}
