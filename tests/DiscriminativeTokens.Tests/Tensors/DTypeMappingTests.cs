using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using TorchSharp;

namespace DiscriminativeTokens.Tests.Tensors;

public class DTypeMappingTests
{
    [Theory]
    [InlineData(DType.Float32, 4, torch.ScalarType.Float32, typeof(float))]
    [InlineData(DType.Float16, 2, torch.ScalarType.Float16, typeof(Half))]
    [InlineData(DType.Bfloat16, 2, torch.ScalarType.BFloat16, null)]
    [InlineData(DType.Float64, 8, torch.ScalarType.Float64, typeof(double))]
    [InlineData(DType.Int64, 8, torch.ScalarType.Int64, typeof(long))]
    [InlineData(DType.Int32, 4, torch.ScalarType.Int32, typeof(int))]
    [InlineData(DType.Int16, 2, torch.ScalarType.Int16, typeof(short))]
    [InlineData(DType.Int8, 1, torch.ScalarType.Int8, typeof(sbyte))]
    [InlineData(DType.Uint8, 1, torch.ScalarType.Byte, typeof(byte))]
    [InlineData(DType.Bool, 1, torch.ScalarType.Bool, typeof(bool))]
    public void DTypeMapsToWidthScalarTypeAndElementType(DType dtype, int width, torch.ScalarType scalarType, Type? elementType)
    {
        Assert.True(dtype.IsSupported());
        Assert.Equal(width, dtype.ByteWidth());
        Assert.Equal(scalarType, dtype.ToScalarType());
        Assert.Equal(dtype, scalarType.ToDType());
        Assert.Equal(elementType, dtype.ElementTypeOf());
        using var probe = torch.empty(1, scalarType);
        Assert.Equal(width, probe.ElementSize);
    }

    [Fact]
    public void GenericElementTypesMapToTheirDTypes()
    {
        Assert.Equal(DType.Float32, ElementTypes.DTypeOf<float>());
        Assert.Equal(DType.Float16, ElementTypes.DTypeOf<Half>());
        Assert.Equal(DType.Float64, ElementTypes.DTypeOf<double>());
        Assert.Equal(DType.Int64, ElementTypes.DTypeOf<long>());
        Assert.Equal(DType.Int32, ElementTypes.DTypeOf<int>());
        Assert.Equal(DType.Int16, ElementTypes.DTypeOf<short>());
        Assert.Equal(DType.Int8, ElementTypes.DTypeOf<sbyte>());
        Assert.Equal(DType.Uint8, ElementTypes.DTypeOf<byte>());
        Assert.Equal(DType.Bool, ElementTypes.DTypeOf<bool>());
        Assert.False(ElementTypes.TryGetDType<ulong>(out _));
    }

    [Fact]
    public void SupportedListsEveryDTypeButUnspecified()
    {
        var expected = Enum.GetValues<DType>().Where(d => d != DType.Unspecified);
        Assert.Equal(expected, DTypes.Supported);
        Assert.False(DType.Unspecified.IsSupported());
        Assert.False(((DType)42).IsSupported());
    }

    [Fact]
    public void WireNamesMatchTheProto()
    {
        Assert.Equal("DTYPE_FLOAT32", DType.Float32.WireName());
        Assert.Equal("DTYPE_BFLOAT16", DType.Bfloat16.WireName());
        Assert.Equal("DTYPE_UINT8", DType.Uint8.WireName());
        Assert.Equal("DTYPE_UNSPECIFIED", DType.Unspecified.WireName());
        Assert.Equal("unknown dtype 42", ((DType)42).WireName());
    }

    [Fact]
    public void UnspecifiedAndUnknownDTypesHaveNoWidth()
    {
        var unspecified = Assert.Throws<TensorFormatException>(() => DType.Unspecified.ByteWidth());
        Assert.Contains("DTYPE_UNSPECIFIED", unspecified.Message);
        var unknown = Assert.Throws<TensorFormatException>(() => ((DType)42).ToScalarType());
        Assert.Contains("42", unknown.Message);
    }

    [Fact]
    public void ComplexScalarTypeHasNoDType()
    {
        var error = Assert.Throws<TensorFormatException>(() => torch.ScalarType.ComplexFloat32.ToDType());
        Assert.Contains("ComplexFloat32", error.Message);
    }
}
