namespace DiscriminativeTokens.Tensors;

/// <summary>
/// Mapping between wire DTypes and .NET element types whose memory layout is the wire layout, so arrays can be
/// reinterpreted as bytes. bfloat16 has no .NET type; it travels as TorchSharp tensors or raw bytes.
/// </summary>
public static class ElementTypes
{
    /// <summary>The DType whose elements have T's layout. The type tests are constants to the JIT, so this costs nothing.</summary>
    public static bool TryGetDType<T>(out DType dtype)
    {
        dtype =
            typeof(T) == typeof(float) ? DType.Float32 :
            typeof(T) == typeof(Half) ? DType.Float16 :
            typeof(T) == typeof(double) ? DType.Float64 :
            typeof(T) == typeof(long) ? DType.Int64 :
            typeof(T) == typeof(int) ? DType.Int32 :
            typeof(T) == typeof(short) ? DType.Int16 :
            typeof(T) == typeof(sbyte) ? DType.Int8 :
            typeof(T) == typeof(byte) ? DType.Uint8 :
            typeof(T) == typeof(bool) ? DType.Bool :
            DType.Unspecified;
        return dtype != DType.Unspecified;
    }

    /// <summary>Throws <see cref="TensorFormatException"/> when T has no wire DType.</summary>
    public static DType DTypeOf<T>() =>
        TryGetDType<T>(out var dtype)
            ? dtype
            : throw new TensorFormatException(
                $"Element type {typeof(T).Name} has no wire DType; use float, Half, double, long, int, short, sbyte, byte or bool.");

    /// <summary>The .NET element type for a DType, or null for bfloat16. Throws for an unspecified or unknown dtype.</summary>
    public static Type? ElementTypeOf(this DType dtype) => dtype switch
    {
        DType.Float32 => typeof(float),
        DType.Float16 => typeof(Half),
        DType.Bfloat16 => null,
        DType.Float64 => typeof(double),
        DType.Int64 => typeof(long),
        DType.Int32 => typeof(int),
        DType.Int16 => typeof(short),
        DType.Int8 => typeof(sbyte),
        DType.Uint8 => typeof(byte),
        DType.Bool => typeof(bool),
        _ => throw DTypes.Unsupported(dtype),
    };
}
