using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using Google.Protobuf;
using TorchSharp;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;

namespace DiscriminativeTokens.Tests.Tensors;

public class TensorValidationTests
{
    [Fact]
    public void UnspecifiedDTypeIsRejected()
    {
        var error = DecodeFails(Message(DType.Unspecified, [2], new byte[8]));

        Assert.Contains("DTYPE_UNSPECIFIED", error.Message);
        Assert.Contains("DTYPE_FLOAT32", error.Message); // tells the sender what to use instead
    }

    [Fact]
    public void UnknownDTypeIsRejected()
    {
        var error = DecodeFails(Message((DType)42, [2], new byte[8]));

        Assert.Contains("dtype 42", error.Message);
        Assert.Contains("not a known DType", error.Message);
    }

    [Fact]
    public void NegativeDimensionIsRejected()
    {
        var error = DecodeFails(Message(DType.Float32, [2, -1, 3], []));

        Assert.Contains("[2, -1, 3]", error.Message);
        Assert.Contains("negative dimension -1 at index 1", error.Message);
    }

    [Fact]
    public void ElementCountOverflowingLongIsRejected()
    {
        var error = DecodeFails(Message(DType.Uint8, [1L << 40, 1L << 40], []));

        Assert.Contains("64-bit", error.Message);
        Assert.Contains("[1099511627776, 1099511627776]", error.Message);
    }

    [Fact]
    public void ZeroDimensionMakesLargeOtherDimensionsAZeroSizeTensor()
    {
        using var scope = torch.NewDisposeScope();
        var decoded = TensorCodec.Decode(Message(DType.Float32, [1L << 20, 1L << 20, 0], []));

        Assert.Equal([1L << 20, 1L << 20, 0], decoded.shape);
        Assert.Equal(0, decoded.numel());
    }

    [Fact]
    public void OverflowingDimensionsAreRejectedEvenBesideAZero()
    {
        // LibTorch refuses such shapes too ("Storage size calculation overflowed").
        var error = DecodeFails(Message(DType.Float32, [1L << 40, 1L << 40, 0], []));

        Assert.Contains("64-bit", error.Message);
    }

    [Fact]
    public void ElementCountAboveTheConfiguredLimitIsRejected()
    {
        var limits = new TensorLimits { MaxElements = 10 };

        var error = DecodeFails(Message(DType.Uint8, [4, 4], new byte[16]), limits);

        Assert.Contains("16 elements", error.Message);
        Assert.Contains("limit of 10", error.Message);
        Assert.Contains("MaxElements", error.Message);
    }

    [Fact]
    public void ByteCountAboveTheConfiguredLimitIsRejected()
    {
        var limits = new TensorLimits { MaxBytes = 100 };

        var error = DecodeFails(Message(DType.Float32, [5, 6], new byte[120]), limits);

        Assert.Contains("120 bytes", error.Message);
        Assert.Contains("limit of 100 bytes", error.Message);
        Assert.Contains("MaxBytes", error.Message);
    }

    [Fact]
    public void DefaultLimitsRejectTensorsOverOneGibibyte()
    {
        Assert.Equal(1L << 30, TensorLimits.Default.MaxBytes);

        // 2^29 float32 elements are within the element limit but need 2 GiB.
        var error = DecodeFails(Message(DType.Float32, [1L << 29], []));

        Assert.Contains("2147483648 bytes", error.Message);
        Assert.Contains("limit of 1073741824 bytes", error.Message);
    }

    [Fact]
    public void RankAboveTheLimitIsRejected()
    {
        var error = DecodeFails(Message(DType.Float32, Enumerable.Repeat(1L, 65).ToArray(), new byte[4]));

        Assert.Contains("65 dimensions", error.Message);
        Assert.Contains("MaxRank", error.Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(28)]
    [InlineData(0)]
    public void ByteLengthNotMatchingTheShapeIsRejected(int actualBytes)
    {
        var error = DecodeFails(Message(DType.Float32, [2, 3], new byte[actualBytes]));

        Assert.Contains($"has {actualBytes} bytes", error.Message);
        Assert.Contains("needs 24 bytes", error.Message);
        Assert.Contains("[2, 3]", error.Message);
    }

    [Fact]
    public void ArraysRejectTheSameMalformedMessages()
    {
        var error = Assert.Throws<TensorFormatException>(
            () => TensorCodec.DecodeArray<float>(Message(DType.Float32, [2, 3], new byte[10])));

        Assert.Contains("has 10 bytes", error.Message);
        Assert.Contains("needs 24 bytes", error.Message);
    }

    [Fact]
    public void RequestedElementTypeMustMatchTheDType()
    {
        var message = TensorCodec.EncodeArray<float>([1f, 2f], [2]);

        var error = Assert.Throws<TensorFormatException>(() => TensorCodec.DecodeArray<int>(message));

        Assert.Contains("Int32", error.Message);
        Assert.Contains("DTYPE_FLOAT32", error.Message);
        Assert.Contains("decode it as Single", error.Message);
    }

    [Fact]
    public void Bfloat16CannotBeDecodedToADotNetArray()
    {
        var error = Assert.Throws<TensorFormatException>(
            () => TensorCodec.DecodeArray<Half>(Message(DType.Bfloat16, [2], new byte[4])));

        Assert.Contains("DTYPE_BFLOAT16", error.Message);
        Assert.Contains("TensorCodec.Decode", error.Message);
    }

    [Fact]
    public void BoolBytesOtherThanZeroAndOneAreRejected()
    {
        var error = DecodeFails(Message(DType.Bool, [3], [1, 2, 0]));

        Assert.Contains("byte value 2 at byte offset 1", error.Message);
    }

    [Fact]
    public void EncodingAnArrayChecksTheValueCount()
    {
        var error = Assert.Throws<TensorFormatException>(() => TensorCodec.EncodeArray<float>([1f, 2f, 3f, 4f, 5f], [2, 3]));

        Assert.Contains("5 values", error.Message);
        Assert.Contains("needs 6", error.Message);
    }

    [Fact]
    public void EncodingAnArrayOfAnUnsupportedTypeIsRejected()
    {
        var error = Assert.Throws<TensorFormatException>(() => TensorCodec.EncodeArray<ulong>([1UL], [1]));

        Assert.Contains("UInt64", error.Message);
    }

    [Fact]
    public void EncodingAComplexTensorIsRejected()
    {
        using var scope = torch.NewDisposeScope();
        var complex = torch.zeros(2, dtype: torch.ScalarType.ComplexFloat32);

        var error = Assert.Throws<TensorFormatException>(() => TensorCodec.Encode(complex));

        Assert.Contains("ComplexFloat32", error.Message);
    }

    [Fact]
    public void EncodingATensorAboveTheLimitIsRejectedBeforeCopying()
    {
        using var scope = torch.NewDisposeScope();

        var error = Assert.Throws<TensorFormatException>(
            () => TensorCodec.Encode(torch.zeros(10, 10), new TensorLimits { MaxBytes = 399 }));

        Assert.Contains("400 bytes", error.Message);
    }

    [Fact]
    public void LimitsThemselvesAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorLimits { MaxBytes = (long)Array.MaxLength + 1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorLimits { MaxElements = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorLimits { MaxRank = -1 });
    }

    internal static WireTensor Message(DType dtype, long[] shape, byte[] data)
    {
        var message = new WireTensor { Dtype = dtype, Data = ByteString.CopyFrom(data) };
        message.Shape.AddRange(shape);
        return message;
    }

    private static TensorFormatException DecodeFails(WireTensor message, TensorLimits? limits = null)
    {
        using var scope = torch.NewDisposeScope();
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var error = Assert.Throws<TensorFormatException>(() => TensorCodec.Decode(message, limits: limits));
        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount); // nothing allocated
        return error;
    }
}
