using System.Globalization;

namespace DiscriminativeTokens.Tensors;

/// <summary>
/// A validated dtype and shape with the element and byte counts they imply. Every decode path builds one before it
/// allocates, so a malformed or oversized header is rejected while it is still cheap to do so.
/// </summary>
public sealed class TensorLayout
{
    private readonly long[] _shape;

    private TensorLayout(DType dtype, long[] shape, long elementCount, int elementWidth)
    {
        DType = dtype;
        _shape = shape;
        ElementCount = elementCount;
        ElementWidth = elementWidth;
        ByteLength = checked((int)(elementCount * elementWidth));
    }

    public DType DType { get; }

    /// <summary>Dimensions, outermost first; empty for a scalar.</summary>
    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>product(shape); 1 for a scalar.</summary>
    public long ElementCount { get; }

    /// <summary>Bytes per element.</summary>
    public int ElementWidth { get; }

    /// <summary>product(shape) * width: the exact length of the tensor's data.</summary>
    public int ByteLength { get; }

    /// <summary>The shape as an array TorchSharp accepts; shared, do not modify.</summary>
    internal long[] ShapeArray => _shape;

    /// <summary>Validates dtype and shape against <paramref name="limits"/> (default <see cref="TensorLimits.Default"/>).</summary>
    public static TensorLayout Create(DType dtype, ReadOnlySpan<long> shape, TensorLimits? limits = null)
    {
        limits ??= TensorLimits.Default;
        var width = dtype.ByteWidth();
        if (shape.Length > limits.MaxRank)
        {
            throw new TensorFormatException(
                $"Tensor shape has {shape.Length} dimensions, more than the limit of {limits.MaxRank} " +
                "(TensorLimits.MaxRank); send fewer dimensions or raise the limit.");
        }

        var count = ElementCountOf(shape);
        if (count > limits.MaxElements)
        {
            throw new TensorFormatException(
                $"Tensor shape {Format(shape)} has {count} elements, more than the limit of {limits.MaxElements} " +
                "(TensorLimits.MaxElements); send a smaller tensor or raise the limit.");
        }

        if (count > limits.MaxBytes / width)
        {
            throw new TensorFormatException(
                $"Tensor of {dtype.WireName()} with shape {Format(shape)} needs {(Int128)count * width} bytes, more than " +
                $"the limit of {limits.MaxBytes} bytes (TensorLimits.MaxBytes); send a smaller tensor or raise the limit.");
        }

        return new TensorLayout(dtype, shape.ToArray(), count, width);
    }

    /// <summary>Validates a chunk stream's header.</summary>
    public static TensorLayout FromHeader(TensorHeader header, TensorLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        return Create(header.Dtype, ShapeOf(header.Shape), limits);
    }

    /// <summary>Validates a whole-tensor message: dtype, shape, limits, data length and (for bool) element values.</summary>
    public static TensorLayout FromMessage(WireTensor message, TensorLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var layout = Create(message.Dtype, ShapeOf(message.Shape), limits);
        var data = message.Data.Span;
        if (data.Length != layout.ByteLength)
        {
            throw new TensorFormatException(
                $"Tensor data has {data.Length} bytes but {layout.DType.WireName()} with shape {Format(layout.Shape)} " +
                $"needs {layout.ByteLength} bytes ({layout.ElementCount} elements x {layout.ElementWidth} bytes); send " +
                "exactly product(shape) x width bytes, little-endian, C order.");
        }

        layout.ValidateData(data, 0);
        return layout;
    }

    /// <summary>
    /// Rejects element values the dtype does not allow. Only bool has such values (bytes other than 0 and 1), and
    /// .NET and LibTorch both assume they never occur, so they are refused at the boundary.
    /// </summary>
    internal void ValidateData(ReadOnlySpan<byte> data, long offset)
    {
        if (DType != DType.Bool)
        {
            return;
        }

        var bad = data.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0)
        {
            throw new TensorFormatException(
                $"DTYPE_BOOL tensor has byte value {data[bad]} at byte offset {offset + bad}; bool elements must be 0 or 1.");
        }
    }

    /// <summary>"[1, 3, 512, 512]", for messages.</summary>
    public static string Format(ReadOnlySpan<long> shape)
    {
        var parts = new string[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        }

        return "[" + string.Join(", ", parts) + "]";
    }

    public override string ToString() => $"{DType.WireName()} {Format(Shape)}";

    private static long[] ShapeOf(IReadOnlyCollection<long> shape)
    {
        var array = new long[shape.Count];
        var i = 0;
        foreach (var dim in shape)
        {
            array[i++] = dim;
        }

        return array;
    }

    // LibTorch refuses a shape whose dimensions overflow a 64-bit product even when another dimension is 0, so the
    // non-zero dimensions must multiply without overflow in every case.
    private static long ElementCountOf(ReadOnlySpan<long> shape)
    {
        var hasZero = false;
        long count = 1;
        for (var i = 0; i < shape.Length; i++)
        {
            var dim = shape[i];
            if (dim < 0)
            {
                throw new TensorFormatException(
                    $"Tensor shape {Format(shape)} has negative dimension {dim} at index {i}; every dimension must be >= 0.");
            }

            if (dim == 0)
            {
                hasZero = true;
                continue;
            }

            if (count > long.MaxValue / dim)
            {
                throw new TensorFormatException(
                    $"Tensor shape {Format(shape)} has dimensions whose product overflows a 64-bit count; send a smaller tensor.");
            }

            count *= dim;
        }

        return hasZero ? 0 : count;
    }
}
