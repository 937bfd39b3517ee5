using ScalarType = TorchSharp.torch.ScalarType;

namespace DiscriminativeTokens.Tensors;

/// <summary>Mapping between wire DTypes and TorchSharp scalar types; both use the same bit layout per element.</summary>
public static class TorchScalarTypes
{
    /// <summary>Throws <see cref="TensorFormatException"/> for an unspecified or unknown dtype.</summary>
    public static ScalarType ToScalarType(this DType dtype) => dtype switch
    {
        DType.Float32 => ScalarType.Float32,
        DType.Float16 => ScalarType.Float16,
        DType.Bfloat16 => ScalarType.BFloat16,
        DType.Float64 => ScalarType.Float64,
        DType.Int64 => ScalarType.Int64,
        DType.Int32 => ScalarType.Int32,
        DType.Int16 => ScalarType.Int16,
        DType.Int8 => ScalarType.Int8,
        DType.Uint8 => ScalarType.Byte,
        DType.Bool => ScalarType.Bool,
        _ => throw DTypes.Unsupported(dtype),
    };

    public static bool TryToDType(this ScalarType scalarType, out DType dtype)
    {
        dtype = scalarType switch
        {
            ScalarType.Float32 => DType.Float32,
            ScalarType.Float16 => DType.Float16,
            ScalarType.BFloat16 => DType.Bfloat16,
            ScalarType.Float64 => DType.Float64,
            ScalarType.Int64 => DType.Int64,
            ScalarType.Int32 => DType.Int32,
            ScalarType.Int16 => DType.Int16,
            ScalarType.Int8 => DType.Int8,
            ScalarType.Byte => DType.Uint8,
            ScalarType.Bool => DType.Bool,
            _ => DType.Unspecified,
        };
        return dtype != DType.Unspecified;
    }

    /// <summary>Throws <see cref="TensorFormatException"/> for scalar types the wire format has no DType for (complex, quantized).</summary>
    public static DType ToDType(this ScalarType scalarType) =>
        scalarType.TryToDType(out var dtype)
            ? dtype
            : throw new TensorFormatException(
                $"TorchSharp tensors of type {scalarType} have no wire DType; convert the tensor with .to(...) to one of " +
                string.Join(", ", DTypes.Supported.Select(d => d.ToScalarType())) + " before sending it.");
}
