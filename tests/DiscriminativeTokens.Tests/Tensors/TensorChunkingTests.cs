using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;

namespace DiscriminativeTokens.Tests.Tensors;

public class TensorChunkingTests
{
    private const int MiB = 1 << 20;
    private static readonly long[] ImageShape = [1, 3, 1024, 1024];

    [Fact]
    public void LargeTensorSplitsIntoOneMebibyteChunksOfOneBuffer()
    {
        using var scope = torch.NewDisposeScope();
        var image = Image();

        var chunks = TensorChunker.Split(image).ToList();

        Assert.Equal(12, chunks.Count);
        byte[]? shared = null;
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            Assert.Equal((uint)i, chunk.Index);
            Assert.Equal((long)i * MiB, chunk.Offset);
            Assert.Equal(MiB, chunk.Data.Length);
            Assert.Equal(i == 11, chunk.Last);
            Assert.Equal(i == 0, chunk.Header is not null);

            // Every chunk is a window on the same encoded array, at its own offset: no per-chunk copy.
            Assert.True(MemoryMarshal.TryGetArray(chunk.Data.Memory, out var segment));
            shared ??= segment.Array;
            Assert.Same(shared, segment.Array);
            Assert.Equal(i * MiB, segment.Offset);
        }

        Assert.Equal(DType.Float32, chunks[0].Header.Dtype);
        Assert.Equal(ImageShape, chunks[0].Header.Shape);
        Assert.True(shared.AsSpan().SequenceEqual(image.bytes));
    }

    [Theory]
    [InlineData(MiB)]
    [InlineData(1_000_003)]
    [InlineData(65_537)]
    [InlineData((12 * MiB) - 1)]
    [InlineData(12 * MiB)]
    [InlineData(20_000_000)]
    public void LargeTensorReassemblesAtAnyChunkSize(int maxChunkBytes)
    {
        using var scope = torch.NewDisposeScope();
        var image = Image();
        var total = 12 * MiB;

        var chunks = TensorChunker.Split(image, maxChunkBytes).ToList();

        Assert.Equal((total + maxChunkBytes - 1) / maxChunkBytes, chunks.Count);
        Assert.Equal(TensorChunker.ChunkCount(total, maxChunkBytes), chunks.Count);
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(maxChunkBytes, c.Data.Length));
        Assert.Equal(total - ((chunks.Count - 1) * (long)maxChunkBytes), chunks[^1].Data.Length);

        using var toMessage = new TensorMessageAssembler();
        using var toTorch = new TorchTensorAssembler();
        foreach (var chunk in chunks)
        {
            toMessage.Add(chunk);
            toTorch.Add(chunk);
        }

        var message = toMessage.GetResult();
        var tensor = toTorch.GetResult();
        Assert.Equal(ImageShape, message.Shape);
        Assert.True(message.Data.Span.SequenceEqual(image.bytes));
        Assert.Equal(ImageShape, tensor.shape);
        Assert.Equal(torch.ScalarType.Float32, tensor.dtype);
        Assert.True(tensor.bytes.SequenceEqual(image.bytes));
        Assert.True(tensor.Equals(image));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(29)]
    public void TinyChunksThatSplitElementsReassemble(int maxChunkBytes)
    {
        var values = Enumerable.Range(0, 7).Select(i => (long)((i * 0x0123_4567_89AB_CDEFL) ^ -i)).ToArray();
        var message = TensorCodec.EncodeArray<long>(values, [7]);

        var chunks = TensorChunker.Split(message, maxChunkBytes).ToList();

        Assert.Equal((56 + maxChunkBytes - 1) / maxChunkBytes, chunks.Count);
        using var assembler = new TensorMessageAssembler();
        foreach (var chunk in chunks)
        {
            assembler.Add(chunk);
        }

        Assert.True(assembler.IsComplete);
        Assert.Equal(values, TensorCodec.DecodeArray<long>(assembler.GetResult()).Values);
    }

    [Fact]
    public void SplittingAMessageAndItsTensorGivesTheSameChunks()
    {
        using var scope = torch.NewDisposeScope();
        var tensor = torch.arange(1000, dtype: torch.ScalarType.Int16).reshape(10, 100);
        var message = TensorCodec.Encode(tensor);

        var fromTensor = TensorChunker.Split(tensor, 300).ToList();
        var fromMessage = TensorChunker.Split(message, 300).ToList();

        Assert.Equal(fromTensor, fromMessage); // protobuf value equality, field by field
        Assert.Equal(7, fromMessage.Count);
    }

    [Fact]
    public void ZeroSizeTensorIsOneChunkWithHeaderAndNoData()
    {
        using var scope = torch.NewDisposeScope();

        var chunk = Assert.Single(TensorChunker.Split(torch.empty(0, 3, dtype: torch.ScalarType.Int32)));

        Assert.Equal(0u, chunk.Index);
        Assert.Equal(0, chunk.Offset);
        Assert.True(chunk.Data.IsEmpty);
        Assert.True(chunk.Last);
        Assert.Equal(DType.Int32, chunk.Header.Dtype);
        Assert.Equal([0L, 3L], chunk.Header.Shape);

        using var assembler = new TorchTensorAssembler();
        assembler.Add(chunk);
        var tensor = assembler.GetResult();
        Assert.Equal([0L, 3L], tensor.shape);
        Assert.Equal(torch.ScalarType.Int32, tensor.dtype);
    }

    [Fact]
    public void ScalarIsOneChunk()
    {
        var message = TensorCodec.EncodeArray<float>([2.5f], []);

        var chunk = Assert.Single(TensorChunker.Split(message));

        Assert.Empty(chunk.Header.Shape);
        Assert.True(chunk.Last);
        using var assembler = new TensorMessageAssembler();
        assembler.Add(chunk);
        var (values, shape) = TensorCodec.DecodeArray<float>(assembler.GetResult());
        Assert.Equal([2.5f], values);
        Assert.Empty(shape);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void ChunkSizeMustBePositive(int maxChunkBytes)
    {
        using var scope = torch.NewDisposeScope();
        var message = TensorCodec.EncodeArray<int>([1, 2], [2]);

        // Thrown by the call itself, not later when the sequence is enumerated.
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorChunker.Split(message, maxChunkBytes));
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorChunker.Split(torch.ones(2), maxChunkBytes));
    }

    [Fact]
    public void SplittingAMalformedMessageFailsImmediately()
    {
        var malformed = TensorValidationTests.Message(DType.Float32, [2, 3], new byte[10]);

        var error = Assert.Throws<TensorFormatException>(() => TensorChunker.Split(malformed));

        Assert.Contains("needs 24 bytes", error.Message);
    }

    [Fact]
    public async Task AsyncStreamReassemblesToTensorAndMessage()
    {
        // Explicit disposal, no dispose scope: scopes are per thread and awaits move between threads.
        using var source = torch.rand(3, 100, 100, generator: new torch.Generator(7));
        var chunks = TensorChunker.Split(source, 4096).ToList();

        using var tensor = await Stream(chunks).ReadTensorAsync();
        var message = await Stream(chunks).ReadMessageAsync();

        Assert.True(tensor.Equals(source));
        Assert.True(message.Data.Span.SequenceEqual(source.bytes));
    }

    [Fact]
    public void ReassembledTensorIsIndependentOfTheChunks()
    {
        var message = TensorCodec.EncodeArray<int>([1, 2, 3, 4], [4]);
        var chunks = TensorChunker.Split(message, 8).ToList();
        using var assembler = new TorchTensorAssembler();
        chunks.ForEach(assembler.Add);

        using var tensor = assembler.GetResult();

        Assert.Equal(new[] { 1, 2, 3, 4 }, tensor.data<int>().ToArray());
    }

    internal static async IAsyncEnumerable<TensorChunk> Stream(
        IEnumerable<TensorChunk> chunks, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var chunk in chunks)
        {
            await Task.Yield(); // hop threads, as a network stream does
            cancellationToken.ThrowIfCancellationRequested();
            yield return chunk;
        }
    }

    private static TorchTensor Image() =>
        torch.rand(ImageShape, generator: new torch.Generator(1234));
}
