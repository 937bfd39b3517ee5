namespace DiscriminativeTokens.Tensors;

/// <summary>Byte widths and names of the wire element types.</summary>
public static class DTypes
{
    /// <summary>Every DType the codec accepts, in enum order (DTYPE_UNSPECIFIED is never accepted).</summary>
    public static IReadOnlyList<DType> Supported { get; } =
    [
        DType.Float32, DType.Float16, DType.Bfloat16, DType.Float64, DType.Int64,
        DType.Int32, DType.Int16, DType.Int8, DType.Uint8, DType.Bool,
    ];

    public static bool IsSupported(this DType dtype) => dtype is >= DType.Float32 and <= DType.Bool;

    /// <summary>Bytes per element. Throws <see cref="TensorFormatException"/> for an unspecified or unknown dtype.</summary>
    public static int ByteWidth(this DType dtype) => dtype switch
    {
        DType.Float64 or DType.Int64 => 8,
        DType.Float32 or DType.Int32 => 4,
        DType.Float16 or DType.Bfloat16 or DType.Int16 => 2,
        DType.Int8 or DType.Uint8 or DType.Bool => 1,
        _ => throw Unsupported(dtype),
    };

    /// <summary>The name used in the .proto (e.g. DTYPE_FLOAT32), which is what senders in any language see.</summary>
    public static string WireName(this DType dtype) =>
        dtype is DType.Unspecified || dtype.IsSupported()
            ? "DTYPE_" + dtype.ToString().ToUpperInvariant()
            : $"unknown dtype {(int)dtype}";

    internal static TensorFormatException Unsupported(DType dtype)
    {
        var expected = string.Join(", ", Supported.Select(WireName));
        return dtype == DType.Unspecified
            ? new TensorFormatException($"Tensor dtype is DTYPE_UNSPECIFIED (not set); set it to one of {expected}.")
            : new TensorFormatException(
                $"Tensor dtype {(int)dtype} is not a known DType (the sender may use a newer tensor.proto); use one of {expected}.");
    }
}
