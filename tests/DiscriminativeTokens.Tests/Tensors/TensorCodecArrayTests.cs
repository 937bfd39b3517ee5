using System.Runtime.InteropServices;
using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using Google.Protobuf;
using TorchSharp;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;

namespace DiscriminativeTokens.Tests.Tensors;

public class TensorCodecArrayTests
{
    [Theory]
    [MemberData(nameof(Samples.ArrayDTypes), MemberType = typeof(Samples))]
    public void ArrayRoundTripsExactly(DType dtype)
    {
        switch (dtype)
        {
            case DType.Float32: RoundTrip(Samples.Float32, dtype); break;
            case DType.Float16: RoundTrip(Samples.Float16, dtype); break;
            case DType.Float64: RoundTrip(Samples.Float64, dtype); break;
            case DType.Int64: RoundTrip(Samples.Int64, dtype); break;
            case DType.Int32: RoundTrip(Samples.Int32, dtype); break;
            case DType.Int16: RoundTrip(Samples.Int16, dtype); break;
            case DType.Int8: RoundTrip(Samples.Int8, dtype); break;
            case DType.Uint8: RoundTrip(Samples.Uint8, dtype); break;
            case DType.Bool: RoundTrip(Samples.Bool, dtype); break;
            default: Assert.Fail($"no array sample for {dtype}"); break;
        }
    }

    [Theory]
    [MemberData(nameof(Samples.ArrayDTypes), MemberType = typeof(Samples))]
    public void ArraysAndTorchTensorsInteroperate(DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var expected = Samples.ExpectedBytes(dtype);

        // Torch -> message -> array, and array -> message -> torch, must both give the sample's bytes.
        var fromTorch = TensorCodec.Encode(Samples.Torch(dtype));
        var fromArray = ArrayMessage(dtype);

        Assert.Equal(expected, ArrayBytes(fromTorch, dtype));
        Assert.Equal(expected, Samples.TypedBytes(TensorCodec.Decode(fromArray)));
    }

    [Fact]
    public void ZeroSizeArrayRoundTrips()
    {
        var message = TensorCodec.EncodeArray<float>([], [0, 3]);

        Assert.Equal([0L, 3L], message.Shape);
        Assert.True(message.Data.IsEmpty);
        var (values, shape) = TensorCodec.DecodeArray<float>(message);
        Assert.Empty(values);
        Assert.Equal([0L, 3L], shape);
    }

    [Fact]
    public void ScalarArrayRoundTrips()
    {
        var message = TensorCodec.EncodeArray<int>([-42], []);

        Assert.Empty(message.Shape);
        Assert.Equal(Samples.Bytes(new[] { -42 }), message.Data.ToByteArray());
        var (values, shape) = TensorCodec.DecodeArray<int>(message);
        Assert.Equal([-42], values);
        Assert.Empty(shape);
    }

    [Fact]
    public void MessageSurvivesProtobufSerialization()
    {
        var message = TensorCodec.EncodeArray<double>([1.25, -2.5, 1e300, double.NegativeInfinity], [2, 2]);

        var parsed = WireTensor.Parser.ParseFrom(message.ToByteArray());

        var (values, shape) = TensorCodec.DecodeArray<double>(parsed);
        Assert.Equal([1.25, -2.5, 1e300, double.NegativeInfinity], values);
        Assert.Equal([2L, 2L], shape);
    }

    private static void RoundTrip<T>(T[] sample, DType dtype)
        where T : unmanaged
    {
        var message = TensorCodec.EncodeArray<T>(sample, Samples.Shape);

        Assert.Equal(dtype, message.Dtype);
        Assert.Equal(Samples.Shape, message.Shape);
        Assert.Equal(Samples.ExpectedBytes(dtype), message.Data.ToByteArray());

        var (values, shape) = TensorCodec.DecodeArray<T>(message);
        Assert.Equal(Samples.Shape, shape);
        Assert.Equal(sample, values);
        // Bitwise too: Equals treats 0 and -0 as equal.
        Assert.Equal(MemoryMarshal.AsBytes(sample.AsSpan()).ToArray(), MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    private static WireTensor ArrayMessage(DType dtype) => dtype switch
    {
        DType.Float32 => TensorCodec.EncodeArray<float>(Samples.Float32, Samples.Shape),
        DType.Float16 => TensorCodec.EncodeArray<Half>(Samples.Float16, Samples.Shape),
        DType.Float64 => TensorCodec.EncodeArray<double>(Samples.Float64, Samples.Shape),
        DType.Int64 => TensorCodec.EncodeArray<long>(Samples.Int64, Samples.Shape),
        DType.Int32 => TensorCodec.EncodeArray<int>(Samples.Int32, Samples.Shape),
        DType.Int16 => TensorCodec.EncodeArray<short>(Samples.Int16, Samples.Shape),
        DType.Int8 => TensorCodec.EncodeArray<sbyte>(Samples.Int8, Samples.Shape),
        DType.Uint8 => TensorCodec.EncodeArray<byte>(Samples.Uint8, Samples.Shape),
        DType.Bool => TensorCodec.EncodeArray<bool>(Samples.Bool, Samples.Shape),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    private static byte[] ArrayBytes(WireTensor message, DType dtype) => dtype switch
    {
        DType.Float32 => Samples.Bytes(TensorCodec.DecodeArray<float>(message).Values),
        DType.Float16 => Samples.Bytes(TensorCodec.DecodeArray<Half>(message).Values),
        DType.Float64 => Samples.Bytes(TensorCodec.DecodeArray<double>(message).Values),
        DType.Int64 => Samples.Bytes(TensorCodec.DecodeArray<long>(message).Values),
        DType.Int32 => Samples.Bytes(TensorCodec.DecodeArray<int>(message).Values),
        DType.Int16 => Samples.Bytes(TensorCodec.DecodeArray<short>(message).Values),
        DType.Int8 => Samples.Bytes(TensorCodec.DecodeArray<sbyte>(message).Values),
        DType.Uint8 => Samples.Bytes(TensorCodec.DecodeArray<byte>(message).Values),
        DType.Bool => Samples.Bytes(TensorCodec.DecodeArray<bool>(message).Values),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
