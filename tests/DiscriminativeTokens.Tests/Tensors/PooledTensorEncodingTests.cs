using DiscriminativeTokens.Tensors;
using TorchSharp;

namespace DiscriminativeTokens.Tests.Tensors;

public class PooledTensorEncodingTests
{
    [Fact]
    public void MessageAndChunksCarryTheTensorExactly()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.rand([1, 3, 64, 48], generator: new torch.Generator(7)).transpose(2, 3);
        using var encoding = PooledTensorEncoding.Encode(image);

        using (var decoded = TensorCodec.Decode(encoding.ToMessage()))
            Assert.True(decoded.Equals(image.contiguous()));

        var chunks = encoding.Split(5000).ToList();
        Assert.Equal(TensorChunker.ChunkCount(1 * 3 * 64 * 48 * 4, 5000), chunks.Count);
        using var assembler = new TorchTensorAssembler();
        foreach (var chunk in chunks) assembler.Add(chunk);
        using var assembled = assembler.GetResult();
        Assert.True(assembled.Equals(image.contiguous()));
    }

    [Fact]
    public void DisposalReturnsTheBufferOnceAndForbidsFurtherUse()
    {
        using var scope = torch.NewDisposeScope();
        var encoding = PooledTensorEncoding.Encode(torch.ones(10));
        encoding.Dispose();
        encoding.Dispose();
        Assert.Throws<ObjectDisposedException>(() => encoding.ToMessage());
        Assert.Throws<ObjectDisposedException>(() => encoding.Split().ToList());
    }

    [Fact]
    public void ZeroSizeTensorsEncodeToOneEmptyChunk()
    {
        using var scope = torch.NewDisposeScope();
        using var encoding = PooledTensorEncoding.Encode(torch.zeros(0, 3));
        var chunk = Assert.Single(encoding.Split());
        Assert.True(chunk.Last);
        Assert.Equal(new long[] { 0, 3 }, chunk.Header.Shape);
    }
}
