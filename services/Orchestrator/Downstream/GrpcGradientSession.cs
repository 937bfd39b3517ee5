using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Client = DiscriminativeTokens.Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient;
using WireForward = DiscriminativeTokens.Contracts.Diffusion.V1.ForwardRequest;
using ForwardRequest = DiscriminativeTokens.Orchestration.Backends.ForwardRequest;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// A gradient session over the GradientSession bidirectional stream. Requests from concurrent callers are written one
/// message (or one gradient's chunks) at a time under a lock; a single reader dispatches the responses by forward id.
/// An error about one forward fails only that forward; a broken stream fails every pending and later operation as
/// transient. The stream has no deadline (it lives as long as the job); each forward and backward has its own.
/// </summary>
internal sealed class GrpcGradientSession : IDiffusionGradientSession
{
    private readonly DownstreamConnection _connection;
    private readonly AsyncDuplexStreamingCall<GradientSessionRequest, GradientSessionResponse> _call;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _gate = new();
    // Operations awaiting their answer, per forward id in the order sent. The service answers requests in order, so an
    // id's next answer belongs to its first entry. An operation its caller gave up on (cancelled, timed out, released)
    // stays as a sink until its answer has gone by, so that a later operation reusing the id does not receive it.
    private readonly Dictionary<ulong, List<PendingOperation>> _pending = [];
    private Task _reader = Task.CompletedTask;
    // Why the session cannot be used any more (the stream broke, or the session was closed); null while it can.
    private (BackendFailure Failure, string Detail)? _ended;
    private int _disposed;
    private volatile bool _closing;

    private GrpcGradientSession(DownstreamConnection connection,
                                AsyncDuplexStreamingCall<GradientSessionRequest, GradientSessionResponse> call, string sessionId)
    {
        _connection = connection;
        _call = call;
        SessionId = sessionId;
    }

    /// <summary>The service's id of the session, for logs.</summary>
    public string SessionId { get; }

    /// <summary>Opens the stream, sends `open` and waits (at most the info deadline) for `opened`.</summary>
    public static async Task<GrpcGradientSession> OpenAsync(DownstreamConnection connection, Client client,
                                                            GradientSessionOptions options, CancellationToken cancellationToken)
    {
        var open = WireMapping.ToWire(options, connection.Options.MaxChunkBytes);
        // No deadline and no cancellation token on the call itself: it lives until DisposeAsync.
        var call = client.GradientSession();
        try
        {
            try
            {
                await call.RequestStream.WriteAsync(new GradientSessionRequest { Open = open }).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // The call already ended (e.g. the connection was refused): reading below reports its status.
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(connection.Options.InfoTimeout);
            bool answered;
            try
            {
                answered = await call.ResponseStream.MoveNext(wait.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }
                                      && !cancellationToken.IsCancellationRequested)
            {
                throw connection.Failure(BackendFailure.Transient, "GradientSession open",
                                         $"no answer to `open` within {connection.Options.InfoTimeout.TotalSeconds:F0} s", e);
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (!answered)
                throw connection.Failure(BackendFailure.Transient, "GradientSession open", "a stream that ended without an answer to `open`");
            var first = call.ResponseStream.Current;
            if (first.ResponseCase == GradientSessionResponse.ResponseOneofCase.Error)
                throw connection.Failure("GradientSession open", first.Error.Status?.Code ?? (int)StatusCode.Unknown,
                                         first.Error.Status?.Message ?? "");
            if (first.ResponseCase != GradientSessionResponse.ResponseOneofCase.Opened)
                throw connection.Failure(BackendFailure.Internal, "GradientSession open",
                                         $"`{first.ResponseCase}` as the first response instead of `opened`");

            var session = new GrpcGradientSession(connection, call, first.Opened.SessionId);
            session._reader = Task.Run(session.ReadAsync, CancellationToken.None);
            return session;
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    public Task<ForwardResult> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var message = new WireForward
        {
            ForwardId = request.ForwardId,
            Sampling = WireMapping.ToWire(request.Sampling),
            TokenEmbedding = WireMapping.Encode(request.TokenEmbedding, "token embedding"),
        };
        if (request.InitialLatents is not null)
            message.InitialLatents = WireMapping.Encode(request.InitialLatents, "initial latents");
        string operation = $"forward {request.ForwardId}";
        return _connection.CallAsync(operation, token =>
        {
            var pending = new PendingForward(request.ForwardId);
            return RunAsync(pending, operation, [new GradientSessionRequest { Forward = message }], token);
        }, cancellationToken);
    }

    public Task<TokenGradientResult> BackwardAsync(ulong forwardId, TensorData imageGradient, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imageGradient);
        var wire = WireMapping.Encode(imageGradient, "dLoss/dImage");
        string operation = $"backward {forwardId}";
        return _connection.CallAsync(operation, token =>
        {
            // The chunks slice one encoded buffer; the sequence is enumerated under the write lock, so one gradient's
            // chunks go out contiguously as the contract requires.
            var messages = TensorChunker.Split(wire, _connection.Options.MaxChunkBytes)
                                        .Select(chunk => new GradientSessionRequest
                                        {
                                            Backward = new BackwardChunk { ForwardId = forwardId, Chunk = chunk },
                                        });
            return RunAsync(new PendingBackward(forwardId), operation, messages, token);
        }, cancellationToken);
    }

    public async Task ReleaseAsync(ulong forwardId, CancellationToken cancellationToken)
    {
        List<PendingOperation> abandoned;
        lock (_gate)
        {
            // A broken or closed session holds nothing on the service any more.
            if (_ended is not null) return;
            abandoned = _pending.TryGetValue(forwardId, out var entries) ? [.. entries.Where(p => !p.Abandoned)] : [];
            foreach (var p in abandoned) p.Abandoned = true;
        }
        foreach (var p in abandoned)
            p.Fail(_connection.Failure(BackendFailure.Precondition, p.Operation, "a release while it was pending"));
        await WriteAsync([new GradientSessionRequest { Release = new ReleaseForward { ForwardId = forwardId } }], $"release {forwardId}",
                         cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Registers the operation, sends its messages and waits (at most the compute deadline) for its answer.</summary>
    private async Task<T> RunAsync<T>(PendingOperation<T> pending, string operation, IEnumerable<GradientSessionRequest> messages,
                                      CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ThrowIfEnded(operation);
            if (_pending.TryGetValue(pending.ForwardId, out var entries) && entries.Any(p => !p.Abandoned))
                throw _connection.Failure(BackendFailure.InvalidRequest, operation,
                    $"a local check: forward {pending.ForwardId} already has a forward or backward in flight on this session; " +
                    "wait for it or use another id");
            if (entries is null) _pending[pending.ForwardId] = entries = [];
            entries.Add(pending);
        }
        bool sent = false;
        try
        {
            await WriteAsync(messages, operation, cancellationToken).ConfigureAwait(false);
            sent = true;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_connection.Options.ComputeTimeout);
            try
            {
                return await pending.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw _connection.Failure(BackendFailure.Transient, operation,
                    $"no answer within {_connection.Options.ComputeTimeout} (DownstreamOptions.ComputeTimeout)");
            }
        }
        catch
        {
            bool release = false;
            lock (_gate)
            {
                if (!sent)
                {
                    Remove(pending);
                }
                else if (!pending.Abandoned && IsPending(pending))
                {
                    // Its answer will still come: leave it as a sink.
                    pending.Abandoned = true;
                    release = pending is PendingForward;
                }
            }
            // A forward the service may still be computing: free it there once it is done (requests run in order). Sent
            // before returning, so it cannot overtake a new forward that reuses the id.
            if (release)
                await ReleaseQuietlyAsync(pending.ForwardId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task ReleaseQuietlyAsync(ulong forwardId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_connection.Options.InfoTimeout);
            await WriteAsync([new GradientSessionRequest { Release = new ReleaseForward { ForwardId = forwardId } }],
                             $"release {forwardId}", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort: the service frees it with the session anyway.
        }
    }

    private async Task WriteAsync(IEnumerable<GradientSessionRequest> messages, string operation, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_gate) ThrowIfEnded(operation);
            // No cancellation token on the writes: cancelling a write would cancel the whole stream.
            foreach (var message in messages)
                await _call.RequestStream.WriteAsync(message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
        {
            End(BackendFailure.Transient, $"the session stream broke while sending: {e.Message}");
            lock (_gate) ThrowIfEnded(operation);
            throw;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The single reader: dispatches every response to the operation it answers, until the stream ends.</summary>
    private async Task ReadAsync()
    {
        string why;
        try
        {
            while (await _call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false))
                Dispatch(_call.ResponseStream.Current);
            if (_closing)
            {
                End(BackendFailure.Precondition, ClosedDetail);
                return;
            }
            why = "the service ended the session stream";
        }
        catch (RpcException e)
        {
            why = $"the session stream broke with {DownstreamFailures.CodeName(e.StatusCode)}: {e.Status.Detail}";
        }
        catch (Exception e)
        {
            why = $"the session stream broke: {e.Message}";
        }
        End(BackendFailure.Transient, why);
    }

    private void Dispatch(GradientSessionResponse response)
    {
        switch (response.ResponseCase)
        {
            case GradientSessionResponse.ResponseOneofCase.Image:
                if (Find(response.Image.ForwardId) is PendingForward forward)
                {
                    try
                    {
                        forward.Image.Add(response.Image.Chunk ?? throw new TensorFormatException("an image message without a chunk"));
                        if (!forward.Image.IsComplete) return;
                        var image = WireMapping.Decode(forward.Image.GetResult(), _connection, forward.Operation, "image");
                        Complete(forward, new ForwardResult(forward.ForwardId, image, [.. forward.Warnings]));
                    }
                    catch (Exception e) when (e is TensorFormatException or BackendException)
                    {
                        Fail(forward, e as BackendException ??
                                      _connection.Failure(BackendFailure.Internal, forward.Operation, $"malformed image chunks: {e.Message}", e));
                    }
                }
                break;
            case GradientSessionResponse.ResponseOneofCase.Warning:
                if (Find(response.Warning.ForwardId) is PendingForward warned)
                    warned.Warnings.Add(response.Warning.Message);
                break;
            case GradientSessionResponse.ResponseOneofCase.TokenGradient:
                if (Find(response.TokenGradient.ForwardId) is PendingBackward backward)
                {
                    try
                    {
                        var gradient = WireMapping.Decode(response.TokenGradient.Gradient, _connection, backward.Operation, "token gradient");
                        Complete(backward, new TokenGradientResult(backward.ForwardId, gradient.Values,
                                                                   response.TokenGradient.DifferentiatedCalls));
                    }
                    catch (BackendException e)
                    {
                        Fail(backward, e);
                    }
                }
                break;
            case GradientSessionResponse.ResponseOneofCase.Error:
                var error = response.Error;
                int code = error.Status?.Code ?? (int)StatusCode.Unknown;
                string message = error.Status?.Message ?? "";
                if (error.ForwardId == 0)
                {
                    // About the session itself, which stays open: every operation waiting may be the cause.
                    List<PendingOperation> all;
                    lock (_gate) all = TakeAll();
                    foreach (var p in all) p.Fail(_connection.Failure(p.Operation, code, message));
                }
                else if (Find(error.ForwardId) is { } failed)
                {
                    Fail(failed, _connection.Failure(failed.Operation, code, message));
                }
                break;
            default:
                // opened, progress and closed need no action.
                break;
        }
    }

    /// <summary>The operation the next answer about <paramref name="forwardId"/> belongs to.</summary>
    private PendingOperation? Find(ulong forwardId)
    {
        lock (_gate) return _pending.TryGetValue(forwardId, out var entries) ? entries[0] : null;
    }

    private bool IsPending(PendingOperation pending) =>
        _pending.TryGetValue(pending.ForwardId, out var entries) && entries.Contains(pending);

    private void Remove(PendingOperation pending)
    {
        if (_pending.TryGetValue(pending.ForwardId, out var entries) && entries.Remove(pending) && entries.Count == 0)
            _pending.Remove(pending.ForwardId);
    }

    private List<PendingOperation> TakeAll()
    {
        List<PendingOperation> all = [.. _pending.Values.SelectMany(entries => entries)];
        _pending.Clear();
        return all;
    }

    private void Complete<T>(PendingOperation<T> pending, T result)
    {
        lock (_gate) Remove(pending);
        pending.Succeed(result);
    }

    private void Fail(PendingOperation pending, BackendException error)
    {
        lock (_gate) Remove(pending);
        pending.Fail(error);
    }

    /// <summary>Marks the session unusable and fails everything pending with the reason (the first reason wins).</summary>
    private void End(BackendFailure failure, string detail)
    {
        List<PendingOperation> pending;
        lock (_gate)
        {
            _ended ??= (failure, detail);
            (failure, detail) = _ended.Value;
            pending = TakeAll();
        }
        foreach (var p in pending) p.Fail(_connection.Failure(failure, p.Operation, detail));
    }

    private void ThrowIfEnded(string operation)
    {
        if (_ended is { } ended)
            throw _connection.Failure(ended.Failure, operation, ended.Detail);
    }

    /// <summary>Sends `close`, waits briefly for the service's goodbye and drops the stream. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _closing = true;
        bool open;
        lock (_gate) open = _ended is null;
        if (open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(_connection.Options.CloseTimeout);
                await _writeLock.WaitAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    await _call.RequestStream.WriteAsync(new GradientSessionRequest { Close = new CloseSession() }).ConfigureAwait(false);
                    await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
                await _reader.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The stream is dropped below either way.
            }
        }
        End(BackendFailure.Precondition, ClosedDetail);
        _call.Dispose();
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The reader reports through End; nothing is left to report to.
        }
    }

    private string ClosedDetail => $"a closed session: gradient session {SessionId} was disposed; open a new one";

    private abstract class PendingOperation(ulong forwardId, string operation)
    {
        public ulong ForwardId { get; } = forwardId;
        public string Operation { get; } = operation;

        /// <summary>Its caller stopped waiting; it stays only to absorb its answer (guarded by the session's lock).</summary>
        public bool Abandoned { get; set; }

        public abstract void Fail(BackendException error);
    }

    private abstract class PendingOperation<T>(ulong forwardId, string operation) : PendingOperation(forwardId, operation)
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task<T> Task => _done.Task;
        public void Succeed(T result) => _done.TrySetResult(result);
        public override void Fail(BackendException error) => _done.TrySetException(error);
    }

    private sealed class PendingForward(ulong forwardId) : PendingOperation<ForwardResult>(forwardId, $"forward {forwardId}")
    {
        public TensorMessageAssembler Image { get; } = new();
        public List<string> Warnings { get; } = [];
    }

    private sealed class PendingBackward(ulong forwardId) : PendingOperation<TokenGradientResult>(forwardId, $"backward {forwardId}");
}
