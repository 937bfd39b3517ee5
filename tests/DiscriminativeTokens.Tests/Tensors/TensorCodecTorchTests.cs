using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using TorchSharp;

namespace DiscriminativeTokens.Tests.Tensors;

public class TensorCodecTorchTests
{
    [Theory]
    [MemberData(nameof(Samples.AllDTypes), MemberType = typeof(Samples))]
    public void TorchTensorRoundTripsExactly(DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var expected = Samples.ExpectedBytes(dtype);
        var source = Samples.Torch(dtype);

        var message = TensorCodec.Encode(source);

        Assert.Equal(dtype, message.Dtype);
        Assert.Equal(Samples.Shape, message.Shape);
        Assert.Equal(expected, message.Data.ToByteArray());

        var decoded = TensorCodec.Decode(message);

        Assert.Equal(dtype.ToScalarType(), decoded.dtype);
        Assert.Equal(Samples.Shape, decoded.shape);
        Assert.Equal(DeviceType.CPU, decoded.device_type);
        Assert.Equal(expected, Samples.TypedBytes(decoded));
    }

    [Fact]
    public void ZeroSizeTensorRoundTrips()
    {
        using var scope = torch.NewDisposeScope();
        var message = TensorCodec.Encode(torch.empty(0, 3));

        Assert.Equal(DType.Float32, message.Dtype);
        Assert.Equal([0L, 3L], message.Shape);
        Assert.True(message.Data.IsEmpty);

        var decoded = TensorCodec.Decode(message);
        Assert.Equal([0L, 3L], decoded.shape);
        Assert.Equal(0, decoded.numel());
        Assert.Equal(torch.ScalarType.Float32, decoded.dtype);
    }

    [Fact]
    public void ScalarRoundTrips()
    {
        using var scope = torch.NewDisposeScope();
        var message = TensorCodec.Encode(torch.tensor(-3.5));

        Assert.Equal(DType.Float64, message.Dtype);
        Assert.Empty(message.Shape);
        Assert.Equal(BitConverter.GetBytes(-3.5), message.Data.ToByteArray());

        var decoded = TensorCodec.Decode(message);
        Assert.Equal(0, decoded.Dimensions);
        Assert.Equal(-3.5, decoded.item<double>());
    }

    [Fact]
    public void TransposedTensorIsEncodedInRowMajorOrderOfItsShape()
    {
        using var scope = torch.NewDisposeScope();
        var matrix = torch.arange(6, dtype: torch.ScalarType.Float32).reshape(2, 3); // [[0,1,2],[3,4,5]]
        var transposed = matrix.t();
        Assert.False(transposed.is_contiguous());

        var message = TensorCodec.Encode(transposed);

        Assert.Equal([3L, 2L], message.Shape);
        Assert.Equal(Samples.Bytes(new float[] { 0, 3, 1, 4, 2, 5 }), message.Data.ToByteArray());
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, TensorCodec.Decode(message).data<float>().ToArray());
    }

    [Fact]
    public void StridedSliceExpandedAndOffsetViewsEncodeTheirOwnElements()
    {
        using var scope = torch.NewDisposeScope();
        var grid = torch.arange(12, dtype: torch.ScalarType.Int32).reshape(3, 4);

        var everyOtherColumn = grid.slice(1, 0, 4, 2);   // [[0,2],[4,6],[8,10]], strides (4, 2)
        var lastTwoRows = grid.narrow(0, 1, 2);          // contiguous, storage offset 4
        var broadcast = torch.tensor(new short[] { 7, -8 }).expand(3, 2);   // stride 0

        Assert.Equal(Samples.Bytes(new[] { 0, 2, 4, 6, 8, 10 }), TensorCodec.Encode(everyOtherColumn).Data.ToByteArray());
        Assert.Equal(4, lastTwoRows.storage_offset());
        Assert.Equal(Samples.Bytes(new[] { 4, 5, 6, 7, 8, 9, 10, 11 }), TensorCodec.Encode(lastTwoRows).Data.ToByteArray());
        Assert.Equal(Samples.Bytes(new short[] { 7, -8, 7, -8, 7, -8 }), TensorCodec.Encode(broadcast).Data.ToByteArray());
    }

    [Fact]
    public void EncodingANonContiguousTensorLeavesNoTemporaryTensorsAlive()
    {
        using var scope = torch.NewDisposeScope();
        var transposed = torch.rand(4, 5).t();
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        _ = TensorCodec.Encode(transposed);

        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void EncodingDoesNotAliasTheTensorsMemory()
    {
        using var scope = torch.NewDisposeScope();
        var source = torch.tensor(new[] { 1f, 2f });
        var message = TensorCodec.Encode(source);

        source.fill_(9f);

        Assert.Equal(Samples.Bytes(new[] { 1f, 2f }), message.Data.ToByteArray());
    }

    [Fact]
    public void GradientTrackingTensorEncodes()
    {
        using var scope = torch.NewDisposeScope();
        var weights = torch.tensor(new[] { 0.25f, -4f }).requires_grad_();

        Assert.Equal(Samples.Bytes(new[] { 0.25f, -4f }), TensorCodec.Encode(weights).Data.ToByteArray());
    }

    [Fact]
    public void DecodesOntoAnExplicitCpuDevice()
    {
        using var scope = torch.NewDisposeScope();
        var message = TensorCodec.EncodeArray<long>([5, 6, 7], [3]);

        var decoded = TensorCodec.Decode(message, torch.CPU);

        Assert.Equal(DeviceType.CPU, decoded.device_type);
        Assert.Equal(new long[] { 5, 6, 7 }, decoded.data<long>().ToArray());
    }

    [Fact]
    public void DecodedTensorOwnsItsMemory()
    {
        using var scope = torch.NewDisposeScope();
        var message = TensorCodec.EncodeArray<int>([1, 2, 3], [3]);
        var decoded = TensorCodec.Decode(message);

        decoded.add_(10);

        Assert.Equal(Samples.Bytes(new[] { 1, 2, 3 }), message.Data.ToByteArray());
        Assert.Equal(new[] { 11, 12, 13 }, decoded.data<int>().ToArray());
    }
}
