namespace DiscriminativeTokens.Tensors;

/// <summary>
/// Rebuilds one tensor from its <see cref="TensorChunk"/> messages, fed one at a time with <see cref="Add"/>. The
/// header on the first chunk is validated before the destination is allocated, and each chunk is checked (order,
/// offset, size) and copied straight to its place in the destination: one copy in total. Any violation throws
/// <see cref="TensorFormatException"/> naming the numbers involved; the assembler is then unusable. Not thread-safe.
/// </summary>
public abstract class TensorChunkAssembler<TResult> : IDisposable
{
    private readonly TensorLimits _limits;
    private uint _nextIndex;
    private bool _lastSeen;
    private bool _failed;
    private bool _resultTaken;
    private bool _disposed;

    protected TensorChunkAssembler(TensorLimits? limits)
    {
        _limits = limits ?? TensorLimits.Default;
    }

    /// <summary>The validated header, once the first chunk has arrived.</summary>
    public TensorLayout? Layout { get; private set; }

    /// <summary>Bytes of tensor data received so far.</summary>
    public long BytesReceived { get; private set; }

    /// <summary>Chunks accepted so far.</summary>
    public long ChunksReceived => _nextIndex;

    /// <summary>True once the chunk marked last has been accepted.</summary>
    public bool IsComplete => _lastSeen;

    /// <summary>Checks one chunk and copies its data into place.</summary>
    public void Add(TensorChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ThrowIfUnusable();
        try
        {
            Accept(chunk);
        }
        catch
        {
            _failed = true;
            ReleaseDestination();
            throw;
        }
    }

    /// <summary>
    /// The tensor, once the chunk marked last has arrived; it can be taken once. Throws
    /// <see cref="TensorFormatException"/> if the stream has not reached its last chunk.
    /// </summary>
    public TResult GetResult()
    {
        ThrowIfUnusable();
        if (!_lastSeen)
        {
            throw Layout is null
                ? new TensorFormatException(
                    "The chunk stream ended before its first chunk; a tensor needs at least one chunk, carrying the header.")
                : new TensorFormatException(
                    $"The chunk stream ended after {_nextIndex} chunks and {BytesReceived} of {Layout.ByteLength} bytes, " +
                    "before the chunk marked last; the sender must send the remaining bytes and mark the final chunk last.");
        }

        _resultTaken = true;
        return TakeResult(Layout!);
    }

    /// <summary>Adds every chunk of <paramref name="chunks"/> (which must hold exactly one tensor) and returns the result.</summary>
    public async Task<TResult> AddAllAsync(IAsyncEnumerable<TensorChunk> chunks, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        await foreach (var chunk in chunks.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            Add(chunk);
        }

        return GetResult();
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            ReleaseDestination();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Allocates the destination for <paramref name="layout"/>; its contents need not be initialized.</summary>
    protected abstract void AllocateDestination(TensorLayout layout);

    /// <summary>The whole destination, <see cref="TensorLayout.ByteLength"/> bytes.</summary>
    protected abstract Span<byte> Destination { get; }

    /// <summary>Hands the filled destination to the caller; called once.</summary>
    protected abstract TResult TakeResult(TensorLayout layout);

    /// <summary>Frees the destination if it has not been handed out.</summary>
    protected abstract void ReleaseDestination();

    private void Accept(TensorChunk chunk)
    {
        if (_lastSeen)
        {
            throw new TensorFormatException(
                $"Chunk {chunk.Index} arrived after chunk {_nextIndex - 1}, which was marked last; a tensor's chunks end " +
                "at its last chunk, so send another tensor as a new stream.");
        }

        if (chunk.Index != _nextIndex)
        {
            throw new TensorFormatException(
                $"Expected chunk index {_nextIndex} but got {chunk.Index}; send chunks in order, numbered from 0 without gaps or repeats.");
        }

        var layout = Layout;
        if (layout is null)
        {
            if (chunk.Header is null)
            {
                throw new TensorFormatException(
                    "Chunk 0 has no header; the first chunk must carry the tensor's dtype and shape.");
            }

            layout = TensorLayout.FromHeader(chunk.Header, _limits);
            AllocateDestination(layout);
            Layout = layout;
        }
        else if (chunk.Header is not null)
        {
            throw new TensorFormatException(
                $"Chunk {chunk.Index} carries a header; only the first chunk (index 0) may, so leave it unset on later chunks.");
        }

        if (chunk.Offset != BytesReceived)
        {
            var problem = chunk.Offset > BytesReceived
                ? $"leaving a gap of {chunk.Offset - BytesReceived} bytes"
                : $"overlapping {BytesReceived - chunk.Offset} bytes already received";
            throw new TensorFormatException(
                $"Chunk {chunk.Index} has offset {chunk.Offset} but {BytesReceived} bytes were received before it, " +
                $"{problem}; each chunk's offset must equal the total length of the chunks before it.");
        }

        var data = chunk.Data.Span;
        var remaining = layout.ByteLength - BytesReceived;
        if (data.Length > remaining)
        {
            throw new TensorFormatException(
                $"Chunk {chunk.Index} carries {data.Length} bytes at offset {chunk.Offset}, ending at byte " +
                $"{chunk.Offset + data.Length}, past the tensor's {layout.ByteLength} bytes ({layout}); send no more than " +
                "product(shape) x width bytes in total.");
        }

        if (data.IsEmpty && layout.ByteLength > 0)
        {
            throw new TensorFormatException(
                $"Chunk {chunk.Index} has no data while {remaining} of {layout.ByteLength} bytes are still due; only a " +
                "zero-size tensor may be sent as a chunk without data.");
        }

        layout.ValidateData(data, BytesReceived);
        data.CopyTo(Destination[(int)BytesReceived..]);
        BytesReceived += data.Length;
        _nextIndex++;

        if (chunk.Last)
        {
            if (BytesReceived != layout.ByteLength)
            {
                throw new TensorFormatException(
                    $"Chunk {chunk.Index} is marked last but only {BytesReceived} of {layout.ByteLength} bytes arrived; " +
                    $"send the remaining {layout.ByteLength - BytesReceived} bytes before marking a chunk last.");
            }

            _lastSeen = true;
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failed)
        {
            throw new InvalidOperationException("This assembler already rejected a chunk; start a new one for the next tensor.");
        }

        if (_resultTaken)
        {
            throw new InvalidOperationException("This assembler's result was already taken; start a new one for the next tensor.");
        }
    }
}
