using System.Runtime.InteropServices;
using Google.Protobuf;

namespace DiscriminativeTokens.Tensors;

public static partial class TensorCodec
{
    /// <summary>
    /// Encodes .NET values (C order) with the given shape. T must be float, Half, double, long, int, short, sbyte, byte
    /// or bool; the values are reinterpreted as bytes and copied once.
    /// </summary>
    public static WireTensor EncodeArray<T>(ReadOnlySpan<T> values, ReadOnlySpan<long> shape, TensorLimits? limits = null)
        where T : unmanaged
    {
        HostByteOrder.EnsureLittleEndian();
        var layout = TensorLayout.Create(ElementTypes.DTypeOf<T>(), shape, limits);
        if (values.Length != layout.ElementCount)
        {
            throw new TensorFormatException(
                $"{values.Length} values were given for shape {TensorLayout.Format(shape)}, which needs " +
                $"{layout.ElementCount}; pass exactly product(shape) values.");
        }

        var data = GC.AllocateUninitializedArray<byte>(layout.ByteLength);
        MemoryMarshal.AsBytes(values).CopyTo(data);
        var message = new WireTensor { Dtype = layout.DType, Data = UnsafeByteOperations.UnsafeWrap(data) };
        message.Shape.AddRange(layout.ShapeArray);
        return message;
    }

    /// <summary>
    /// Decodes a message into a new array of T (C order) and its shape. Throws <see cref="TensorFormatException"/>
    /// when the message is malformed or its dtype is not T's (no conversion is done).
    /// </summary>
    public static (T[] Values, long[] Shape) DecodeArray<T>(WireTensor message, TensorLimits? limits = null)
        where T : unmanaged
    {
        HostByteOrder.EnsureLittleEndian();
        var layout = TensorLayout.FromMessage(message, limits);
        if (!ElementTypes.TryGetDType<T>(out var requested) || requested != layout.DType)
        {
            var fits = layout.DType.ElementTypeOf();
            var advice = fits is null
                ? "it has no .NET element type; decode it as a TorchSharp tensor with TensorCodec.Decode"
                : $"decode it as {fits.Name}";
            throw new TensorFormatException(
                $"Requested element type {typeof(T).Name} does not match the tensor's dtype {layout.DType.WireName()}; {advice}.");
        }

        var values = GC.AllocateUninitializedArray<T>((int)layout.ElementCount);
        message.Data.Span.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        return (values, layout.ShapeArray);
    }
}
