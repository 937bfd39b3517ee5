using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Grpc.Core;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>
/// The one writer of a server stream. Messages are posted from any thread (the compute thread's progress callbacks,
/// the request loop) without waiting and written in order by a single task, since a gRPC stream takes one write at a
/// time. A posted batch can own a resource (a pooled tensor encoding its chunks view) that is released once the batch
/// is written, or dropped after a failed write or cancellation.
/// </summary>
internal sealed class ResponsePump<T> : IAsyncDisposable
    where T : class
{
    private readonly Channel<Batch> _queue = Channel.CreateUnbounded<Batch>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IAsyncStreamWriter<T> _stream;
    private readonly CancellationTokenSource _cancel;
    private readonly Task _writer;
    private ExceptionDispatchInfo? _failure;

    public ResponsePump(IAsyncStreamWriter<T> stream, CancellationToken callCancelled)
    {
        _stream = stream;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(callCancelled);
        _writer = Task.Run(WriteAllAsync);
    }

    public void Post(T message) => Post([message], null);

    /// <summary>Queues <paramref name="messages"/> (enumerated by the writer); <paramref name="owner"/> is disposed after.</summary>
    public void Post(IEnumerable<T> messages, IDisposable? owner)
    {
        if (!_queue.Writer.TryWrite(new Batch(messages, owner, null)))
            owner?.Dispose();
    }

    /// <summary>Waits until everything posted so far has been written; throws if a write failed.</summary>
    public async Task FlushAsync()
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_queue.Writer.TryWrite(new Batch([], null, written)))
            await written.Task.ConfigureAwait(false);
        _failure?.Throw();
    }

    /// <summary>Writes what is queued, then stops accepting messages; throws if a write failed.</summary>
    public async Task CompleteAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _failure?.Throw();
    }

    /// <summary>Stops at once: pending writes are cancelled, queued batches dropped and their owners disposed.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _cancel.CancelAsync().ConfigureAwait(false);
        await _writer.ConfigureAwait(false);
        _cancel.Dispose();
    }

    private async Task WriteAllAsync()
    {
        await foreach (var batch in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (_failure is null)
                    foreach (var message in batch.Messages)
                        await _stream.WriteAsync(message, _cancel.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _failure ??= ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                batch.Owner?.Dispose();
                batch.Written?.TrySetResult();
            }
        }
    }

    private sealed record Batch(IEnumerable<T> Messages, IDisposable? Owner, TaskCompletionSource? Written);
}
