using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using Google.Protobuf;
using TorchSharp;

namespace DiscriminativeTokens.Tests.Tensors;

/// <summary>Each malformed stream is rejected with a message that names the numbers involved.</summary>
public class TensorChunkAssemblerErrorTests
{
    // A float32 [4, 4] tensor (64 bytes) in four 16-byte chunks; tests clone and tamper with them.
    private static readonly float[] Values = Enumerable.Range(0, 16).Select(i => i * 0.5f).ToArray();

    [Fact]
    public void FirstChunkWithoutHeaderIsRejected()
    {
        var c = Chunks();
        c[0].Header = null;

        var error = Fails(c[0]);

        Assert.Contains("Chunk 0 has no header", error.Message);
    }

    [Fact]
    public void HeaderOnALaterChunkIsRejected()
    {
        var c = Chunks();
        c[1].Header = c[0].Header.Clone();

        var error = Fails(c[0], c[1]);

        Assert.Contains("Chunk 1 carries a header", error.Message);
    }

    [Fact]
    public void StreamNotStartingAtIndexZeroIsRejected()
    {
        var c = Chunks();

        var error = Fails(c[1]);

        Assert.Contains("Expected chunk index 0 but got 1", error.Message);
    }

    [Fact]
    public void ChunkArrivingOutOfOrderIsRejected()
    {
        var c = Chunks();

        var error = Fails(c[0], c[2]); // chunk 2 overtook chunk 1 (or chunk 1 was lost)

        Assert.Contains("Expected chunk index 1 but got 2", error.Message);
    }

    [Fact]
    public void RepeatedChunkIsRejected()
    {
        var c = Chunks();

        var error = Fails(c[0], c[1], c[1]);

        Assert.Contains("Expected chunk index 2 but got 1", error.Message);
    }

    [Fact]
    public void OffsetLeavingAGapIsRejected()
    {
        var c = Chunks();
        c[1].Offset = 20;

        var error = Fails(c[0], c[1]);

        Assert.Contains("Chunk 1 has offset 20 but 16 bytes were received", error.Message);
        Assert.Contains("gap of 4 bytes", error.Message);
    }

    [Fact]
    public void OffsetOverlappingReceivedBytesIsRejected()
    {
        var c = Chunks();
        c[2].Offset = 24;

        var error = Fails(c[0], c[1], c[2]);

        Assert.Contains("Chunk 2 has offset 24 but 32 bytes were received", error.Message);
        Assert.Contains("overlapping 8 bytes", error.Message);
    }

    [Fact]
    public void DataOverrunningTheTensorIsRejected()
    {
        var c = Chunks();
        c[3].Data = ByteString.CopyFrom(new byte[20]);

        var error = Fails(c[0], c[1], c[2], c[3]);

        Assert.Contains("Chunk 3 carries 20 bytes at offset 48", error.Message);
        Assert.Contains("ending at byte 68", error.Message);
        Assert.Contains("64 bytes", error.Message);
    }

    [Fact]
    public void OverrunIsCaughtBeforeTheLastChunk()
    {
        var c = Chunks();
        c[1].Data = ByteString.CopyFrom(new byte[60]);

        var error = Fails(c[0], c[1]);

        Assert.Contains("Chunk 1 carries 60 bytes at offset 16", error.Message);
        Assert.Contains("ending at byte 76", error.Message);
    }

    [Fact]
    public void ChunkAfterTheLastIsRejected()
    {
        var c = Chunks();
        var extra = new TensorChunk { Index = 4, Offset = 64, Data = ByteString.Empty, Last = true };

        var error = Fails(c[0], c[1], c[2], c[3], extra);

        Assert.Contains("Chunk 4 arrived after chunk 3, which was marked last", error.Message);
    }

    [Fact]
    public void LastBeforeAllBytesArrivedIsRejected()
    {
        var c = Chunks();
        c[2].Last = true;

        var error = Fails(c[0], c[1], c[2]);

        Assert.Contains("Chunk 2 is marked last but only 48 of 64 bytes arrived", error.Message);
        Assert.Contains("remaining 16 bytes", error.Message);
    }

    [Fact]
    public void EmptyChunkOfANonEmptyTensorIsRejected()
    {
        var c = Chunks();
        c[1].Data = ByteString.Empty;

        var error = Fails(c[0], c[1]);

        Assert.Contains("Chunk 1 has no data while 48 of 64 bytes are still due", error.Message);
    }

    [Fact]
    public void MalformedHeaderIsRejectedBeforeAllocating()
    {
        var c = Chunks();
        c[0].Header.Shape[1] = -4;

        var error = Fails(c[0]);

        Assert.Contains("negative dimension -4 at index 1", error.Message);
    }

    [Fact]
    public void HeaderAboveTheLimitsIsRejected()
    {
        var c = Chunks();
        using var assembler = new TensorMessageAssembler(new TensorLimits { MaxBytes = 63 });

        var error = Assert.Throws<TensorFormatException>(() => assembler.Add(c[0]));

        Assert.Contains("needs 64 bytes", error.Message);
        Assert.Contains("limit of 63 bytes", error.Message);
    }

    [Fact]
    public void InvalidBoolByteIsReportedAtItsTensorOffset()
    {
        var message = TensorCodec.EncodeArray<bool>([true, false, true, true, false, false], [6]);
        var c = TensorChunker.Split(message, 4).Select(x => x.Clone()).ToList();
        c[1].Data = ByteString.CopyFrom(0, 7);

        var error = Fails(c[0], c[1]);

        Assert.Contains("byte value 7 at byte offset 5", error.Message);
    }

    [Fact]
    public void ResultOfAnIncompleteStreamIsRefused()
    {
        var c = Chunks();
        using var assembler = new TensorMessageAssembler();
        assembler.Add(c[0]);
        assembler.Add(c[1]);

        Assert.False(assembler.IsComplete);
        var error = Assert.Throws<TensorFormatException>(assembler.GetResult);

        Assert.Contains("ended after 2 chunks and 32 of 64 bytes", error.Message);
        Assert.Contains("before the chunk marked last", error.Message);
    }

    [Fact]
    public void ResultOfAnEmptyStreamIsRefused()
    {
        using var assembler = new TorchTensorAssembler();

        var error = Assert.Throws<TensorFormatException>(assembler.GetResult);

        Assert.Contains("before its first chunk", error.Message);
    }

    [Fact]
    public async Task AsyncStreamEndingBeforeTheLastChunkIsRejected()
    {
        var c = Chunks();

        var error = await Assert.ThrowsAsync<TensorFormatException>(
            () => TensorChunkingTests.Stream(c.Take(3)).ReadTensorAsync());

        Assert.Contains("ended after 3 chunks and 48 of 64 bytes", error.Message);
    }

    [Fact]
    public async Task AsyncStreamWithAChunkAfterTheLastIsRejected()
    {
        var c = Chunks();
        var extra = new TensorChunk { Index = 4, Offset = 64, Data = ByteString.CopyFrom(1, 2, 3, 4) };

        var error = await Assert.ThrowsAsync<TensorFormatException>(
            () => TensorChunkingTests.Stream(c.Append(extra)).ReadMessageAsync());

        Assert.Contains("Chunk 4 arrived after chunk 3", error.Message);
    }

    [Fact]
    public void AssemblerIsUnusableAfterAnError()
    {
        var c = Chunks();
        using var assembler = new TensorMessageAssembler();
        assembler.Add(c[0]);
        Assert.Throws<TensorFormatException>(() => assembler.Add(c[2]));

        Assert.Throws<InvalidOperationException>(() => assembler.Add(c[1]));
        Assert.Throws<InvalidOperationException>(assembler.GetResult);
    }

    [Fact]
    public void ResultCanBeTakenOnce()
    {
        using var assembler = new TensorMessageAssembler();
        Chunks().ForEach(assembler.Add);

        var (values, shape) = TensorCodec.DecodeArray<float>(assembler.GetResult());

        Assert.Equal(Values, values);
        Assert.Equal([4L, 4L], shape);
        Assert.Throws<InvalidOperationException>(assembler.GetResult);
    }

    [Fact]
    public void FailedTorchAssemblyFreesItsTensor()
    {
        var c = Chunks();
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var assembler = new TorchTensorAssembler())
        {
            assembler.Add(c[0]);
            Assert.Equal(liveBefore + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            Assert.Throws<TensorFormatException>(() => assembler.Add(c[3]));
        }

        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void AbandonedTorchAssemblyFreesItsTensorOnDispose()
    {
        var c = Chunks();
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var assembler = new TorchTensorAssembler())
        {
            assembler.Add(c[0]);
        }

        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static List<TensorChunk> Chunks() =>
        TensorChunker.Split(TensorCodec.EncodeArray<float>(Values, [4, 4]), 16).Select(c => c.Clone()).ToList();

    private static TensorFormatException Fails(params TensorChunk[] chunks)
    {
        using var assembler = new TensorMessageAssembler();
        for (var i = 0; i < chunks.Length - 1; i++)
        {
            assembler.Add(chunks[i]);
        }

        return Assert.Throws<TensorFormatException>(() => assembler.Add(chunks[^1]));
    }
}
