using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Diffusion.Training;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using TorchSharp;
using GradientMode = DiscriminativeTokens.Diffusion.Training.GradientMode;
using SamplingLoopStyle = DiscriminativeTokens.Diffusion.Training.SamplingLoopStyle;
using TokenGradientMessage = DiscriminativeTokens.Contracts.Diffusion.V1.TokenGradient;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>
/// One GradientSession stream: reads requests in order, runs forwards and backwards on the session (on compute threads),
/// and answers through a single writer. Forwards run one at a time, but the stream is read on while a forward runs, so
/// the backward of an earlier forward runs alongside it: a client that overlaps (sends forward i + 1 before backward i)
/// otherwise has its backward wait for the whole next forward. A failed request becomes a SessionError and the session
/// goes on; the session is released when the stream ends, is cancelled, or the idle watchdog expires it.
/// </summary>
internal sealed class GradientSessionCall
{
    private readonly DiffusionEngine _engine;
    private readonly IAsyncStreamReader<GradientSessionRequest> _requests;
    private readonly ServerCallContext _context;
    private readonly ILogger _logger;
    private GradientSession _session = null!;
    private ResponsePump<GradientSessionResponse> _pump = null!;
    private int _chunkBytes;
    private CancellationToken _cancellation;

    // The forward being computed while the stream is read on (completed or null when there is none).
    private Task _runningForward = Task.CompletedTask;
    private ulong _runningForwardId;

    // The dLoss/dImage being received: chunks of one forward's gradient arrive contiguously.
    private ulong _gradientFor;
    private TorchTensorAssembler? _gradient;
    private bool _skippingGradient;

    private GradientSessionCall(DiffusionEngine engine, IAsyncStreamReader<GradientSessionRequest> requests,
                                ServerCallContext context, ILogger logger)
    {
        _engine = engine;
        _requests = requests;
        _context = context;
        _logger = logger;
    }

    public static Task RunAsync(DiffusionEngine engine, IAsyncStreamReader<GradientSessionRequest> requests,
                                IServerStreamWriter<GradientSessionResponse> responses, ServerCallContext context, ILogger logger) =>
        new GradientSessionCall(engine, requests, context, logger).RunAsync(responses);

    private async Task RunAsync(IServerStreamWriter<GradientSessionResponse> responses)
    {
        if (!await _requests.MoveNext(_context.CancellationToken))
            return;
        var first = _requests.Current;
        if (first.RequestCase != GradientSessionRequest.RequestOneofCase.Open)
            throw RequestRejectedException.Invalid(
                $"The first message of a gradient session must be `open`, not `{Describe(first.RequestCase)}`.");
        var open = first.Open;
        var settings = Settings(open);
        _chunkBytes = ProtoMapping.ChunkBytes(open.MaxChunkBytes, "open.max_chunk_bytes");
        _session = _engine.Sessions.Open(settings);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_context.CancellationToken, _session.Released);
        _cancellation = cancel.Token;
        _pump = new ResponsePump<GradientSessionResponse>(responses, _context.CancellationToken);
        bool closed = false;
        try
        {
            _logger.LogInformation("Gradient session {Session} opened for '{Placeholder}': gradient mode {Mode}, memory {Memory}, " +
                                   "loop {Loop}", _session.Id, settings.Placeholder, settings.GradientMode, settings.MemoryMode,
                                   settings.LoopStyle);
            _pump.Post(new GradientSessionResponse
            {
                Opened = new SessionOpened
                {
                    SessionId = _session.Id,
                    Model = ProtoMapping.ToModelInfo(_engine),
                    DifferentiatedCallsAtDefaultSteps = _session.DifferentiatedCallsAtDefaultSteps,
                },
            });

            while (!closed && await _requests.MoveNext(_cancellation))
            {
                _session.Touch();
                var request = _requests.Current;
                if (request.RequestCase != GradientSessionRequest.RequestOneofCase.Backward)
                    AbandonPartialGradient();
                switch (request.RequestCase)
                {
                    case GradientSessionRequest.RequestOneofCase.Forward:
                        await _runningForward;
                        _runningForwardId = request.Forward.ForwardId;
                        _runningForward = ForwardAsync(request.Forward);
                        break;
                    case GradientSessionRequest.RequestOneofCase.Backward:
                        // The gradient of the forward still running (a client cannot have its image yet) waits for it,
                        // as it did when requests ran one at a time.
                        if (request.Backward.ForwardId == _runningForwardId) await _runningForward;
                        await BackwardChunkAsync(request.Backward);
                        break;
                    case GradientSessionRequest.RequestOneofCase.Release:
                        await _runningForward;
                        _session.Release(request.Release.ForwardId);
                        break;
                    case GradientSessionRequest.RequestOneofCase.Close:
                        closed = true;
                        break;
                    case GradientSessionRequest.RequestOneofCase.Open:
                        PostError(0, new Status(StatusCode.FailedPrecondition,
                            $"This stream's session {_session.Id} is already open; a stream carries one session, so open " +
                            "another stream for another session."));
                        break;
                    default:
                        PostError(0, new Status(StatusCode.InvalidArgument,
                            "A request without any of open, forward, backward, release or close was received; set one."));
                        break;
                }
            }

            await _runningForward;
            AbandonPartialGradient();
            // Sent for `close` and for a request stream that simply ended: either way the session is over.
            _pump.Post(new GradientSessionResponse
            {
                Closed = new SessionClosed { Forwards = _session.Forwards, Backwards = _session.Backwards },
            });
            await _pump.CompleteAsync();
            _logger.LogInformation("Gradient session {Session} closed: {Forwards} forwards, {Backwards} backwards",
                                   _session.Id, _session.Forwards, _session.Backwards);
        }
        catch (Exception e) when (_session.Expired && e is OperationCanceledException or RpcException or RequestRejectedException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded,
                $"Gradient session {_session.Id} was idle for longer than {_engine.Limits.SessionIdleTimeout} " +
                "(Diffusion:SessionIdleTimeout) and was released with its forwards; open a new session."));
        }
        finally
        {
            // A forward still running was cancelled with the call (or has already posted its outcome); it must end
            // before its session is freed.
            try
            {
                await _runningForward;
            }
            catch (Exception)
            {
                // Its outcome no longer reaches anyone.
            }
            _gradient?.Dispose();
            _session.Dispose();
            await _pump.DisposeAsync();
        }
    }

    private static SessionSettings Settings(OpenSession open)
    {
        GradientMode mode = open.GradientMode switch
        {
            Contracts.Diffusion.V1.GradientMode.Unspecified or Contracts.Diffusion.V1.GradientMode.Reference => GradientMode.Reference,
            Contracts.Diffusion.V1.GradientMode.Full => GradientMode.Full,
            Contracts.Diffusion.V1.GradientMode.LastK when open.LastKCalls >= 1 => GradientMode.LastK(open.LastKCalls),
            Contracts.Diffusion.V1.GradientMode.LastK => throw RequestRejectedException.Invalid(
                $"open.last_k_calls = {open.LastKCalls}: GRADIENT_MODE_LAST_K needs at least 1 (1 = the last UNet call only)."),
            var other => throw RequestRejectedException.Invalid(
                $"open.gradient_mode = {(int)other} is not a GradientMode value; use REFERENCE (1), LAST_K (2) or FULL (3)."),
        };
        if (mode.Kind != GradientModeKind.LastK && open.LastKCalls != 0)
            throw RequestRejectedException.Invalid(
                $"open.last_k_calls = {open.LastKCalls} is only used with GRADIENT_MODE_LAST_K; set gradient_mode to LAST_K or " +
                "leave last_k_calls 0.");
        GradientMemoryMode memory = open.MemoryMode switch
        {
            MemoryMode.Unspecified or MemoryMode.KeepGraph => GradientMemoryMode.KeepGraph,
            MemoryMode.Recompute => GradientMemoryMode.Recompute,
            var other => throw RequestRejectedException.Invalid(
                $"open.memory_mode = {(int)other} is not a MemoryMode value; use KEEP_GRAPH (1) or RECOMPUTE (2)."),
        };
        SamplingLoopStyle loop = open.LoopStyle switch
        {
            Contracts.Diffusion.V1.SamplingLoopStyle.Unspecified or Contracts.Diffusion.V1.SamplingLoopStyle.Proper =>
                SamplingLoopStyle.Proper,
            Contracts.Diffusion.V1.SamplingLoopStyle.Reference => SamplingLoopStyle.Reference,
            var other => throw RequestRejectedException.Invalid(
                $"open.loop_style = {(int)other} is not a SamplingLoopStyle value; use PROPER (1) or REFERENCE (2)."),
        };
        return new SessionSettings(open.Placeholder, mode, memory, loop);
    }

    private async Task ForwardAsync(ForwardRequest request)
    {
        ulong id = request.ForwardId;
        torch.Tensor? vector = null, latents = null;
        try
        {
            var validator = _engine.Validator;
            (int, int)? impliedSize = null;
            if (request.InitialLatents is not null)
            {
                latents = ProtoMapping.Decode(request.InitialLatents, "forward.initial_latents");
                impliedSize = validator.LatentImageSize(latents, "forward.initial_latents");
            }
            var sampling = validator.Resolve(ProtoMapping.ToDomain(request.Sampling), impliedSize);
            SamplingValidator.CheckPromptHasPlaceholder(sampling.Prompt, _session.Settings.Placeholder);
            using (var received = ProtoMapping.Decode(request.TokenEmbedding, "forward.token_embedding"))
                vector = validator.TokenVector(received, "forward.token_embedding");

            var forward = new SessionForward(id, sampling, vector, latents);
            var progress = new SynchronousProgress(p => _pump.Post(new GradientSessionResponse
            {
                Progress = new ForwardProgress { ForwardId = id, Step = p.Step, TotalSteps = p.Total },
            }));
            var result = await Compute.Run(() => _session.Forward(forward, progress, _cancellation));
            using (result)
            {
                foreach (string warning in result.Warnings)
                    _pump.Post(new GradientSessionResponse { Warning = new ForwardWarning { ForwardId = id, Message = warning } });
                var encoding = PooledTensorEncoding.Encode(result.Image);
                _pump.Post(encoding.Split(_chunkBytes).Select(chunk => new GradientSessionResponse
                {
                    Image = new ForwardImageChunk { ForwardId = id, Chunk = chunk },
                }), encoding);
            }
        }
        catch (Exception e) when (RpcErrors.StatusOf(e) is { } status && !_session.Expired)
        {
            PostError(id, status);
        }
        catch (Exception e) when (e is not OperationCanceledException && !_cancellation.IsCancellationRequested)
        {
            _logger.LogError(e, "Forward {Forward} of gradient session {Session} failed", id, _session.Id);
            PostError(id, new Status(StatusCode.Internal, $"The forward failed inside the service: {e.Message}"));
        }
        finally
        {
            vector?.Dispose();
            latents?.Dispose();
        }
    }

    private async Task BackwardChunkAsync(BackwardChunk message)
    {
        ulong id = message.ForwardId;
        if (_gradient is not null && id != _gradientFor)
            AbandonPartialGradient();
        if (message.Chunk is null)
        {
            PostError(id, new Status(StatusCode.InvalidArgument, "backward.chunk is missing; every backward message carries one chunk."));
            return;
        }
        bool last = message.Chunk.Last;
        if (_skippingGradient && id == _gradientFor)
        {
            // The rest of a gradient already refused: drop it quietly up to its last chunk.
            if (last) _skippingGradient = false;
            return;
        }
        _skippingGradient = false;

        torch.Tensor? gradient = null;
        try
        {
            if (_gradient is null)
            {
                long[] shape = _session.ImageShape(id);
                if (message.Chunk.Header is { } header && !header.Shape.SequenceEqual(shape))
                    throw RequestRejectedException.Invalid(
                        $"dLoss/dImage for forward {id} has shape [{string.Join(", ", header.Shape)}]; it must have the image's " +
                        $"shape [{string.Join(", ", shape)}].");
                long elements = shape.Aggregate(1L, (a, b) => a * b);
                _gradient = new TorchTensorAssembler(limits: new TensorLimits { MaxElements = elements, MaxBytes = elements * 8 });
                _gradientFor = id;
            }
            _gradient.Add(message.Chunk);
            if (!_gradient.IsComplete)
                return;
            gradient = _gradient.GetResult();
            _gradient.Dispose();
            _gradient = null;

            var imageGradient = gradient;
            using var result = await Compute.Run(() => _session.Backward(id, imageGradient));
            _pump.Post(new GradientSessionResponse
            {
                TokenGradient = new TokenGradientMessage
                {
                    ForwardId = id,
                    Gradient = TensorCodec.Encode(result.Gradient),
                    DifferentiatedCalls = result.DifferentiatedCalls,
                },
            });
        }
        catch (Exception e) when (RpcErrors.StatusOf(e) is { } status && !_session.Expired)
        {
            bool midStream = _gradient is not null || !last;
            _gradient?.Dispose();
            _gradient = null;
            _skippingGradient = midStream && !last;
            _gradientFor = id;
            PostError(id, status);
        }
        catch (Exception e) when (e is not OperationCanceledException && !_cancellation.IsCancellationRequested)
        {
            _logger.LogError(e, "Backward {Forward} of gradient session {Session} failed", id, _session.Id);
            PostError(id, new Status(StatusCode.Internal, $"The backward failed inside the service: {e.Message}"));
        }
        finally
        {
            gradient?.Dispose();
        }
    }

    /// <summary>A gradient whose chunks stopped before the last one (another request came in between) is refused.</summary>
    private void AbandonPartialGradient()
    {
        _skippingGradient = false;
        if (_gradient is null) return;
        long received = _gradient.BytesReceived;
        long expected = _gradient.Layout?.ByteLength ?? 0;
        _gradient.Dispose();
        _gradient = null;
        PostError(_gradientFor, new Status(StatusCode.InvalidArgument,
            $"The dLoss/dImage chunks for forward {_gradientFor} stopped after {received} of {expected} bytes, before the chunk " +
            "marked last; send all chunks of one gradient before any other request. The forward is kept: send its gradient again."));
    }

    private void PostError(ulong forwardId, Status status) =>
        _pump.Post(new GradientSessionResponse
        {
            Error = new SessionError
            {
                ForwardId = forwardId,
                Status = new Google.Rpc.Status { Code = (int)status.StatusCode, Message = status.Detail },
            },
        });

    private static string Describe(GradientSessionRequest.RequestOneofCase c) => c switch
    {
        GradientSessionRequest.RequestOneofCase.None => "(empty)",
        _ => c.ToString().ToLowerInvariant(),
    };

    private sealed class SynchronousProgress(Action<DenoisingProgress> report) : IProgress<DenoisingProgress>
    {
        public void Report(DenoisingProgress value) => report(value);
    }
}
