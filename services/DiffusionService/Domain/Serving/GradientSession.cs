using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>
/// One client's gradient session: the forwards it holds (each a <see cref="TokenGradientForward"/> awaiting its
/// backward) and one slot of the service's concurrency limit. The transport may run a forward and the backward of
/// another forward at the same time (the orchestrator's overlap); the manager's idle watchdog may release it concurrently, so every entry point checks in and out under a lock, and a
/// release while an operation runs takes effect (freeing everything) when the operation returns.
/// </summary>
public sealed class GradientSession : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, TokenGradientForward> _forwards = [];
    private readonly TokenGradientSampler _sampler;
    private readonly ServingLimits _limits;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _released = new();
    private IDisposable? _lease;
    private int _busy;
    private long _lastActivity;
    private bool _isReleased;
    private bool _freed;

    internal GradientSession(string id, SessionSettings settings, int differentiatedCallsAtDefaultSteps,
                             TokenGradientSampler sampler, ServingLimits limits, TimeProvider time, IDisposable lease)
    {
        Id = id;
        Settings = settings;
        DifferentiatedCallsAtDefaultSteps = differentiatedCallsAtDefaultSteps;
        _sampler = sampler;
        _limits = limits;
        _time = time;
        _lease = lease;
        _lastActivity = time.GetTimestamp();
    }

    public string Id { get; }
    public SessionSettings Settings { get; }
    public int DifferentiatedCallsAtDefaultSteps { get; }

    /// <summary>Forwards and backwards completed so far.</summary>
    public long Forwards { get; private set; }
    public long Backwards { get; private set; }

    public int OpenForwards
    {
        get { lock (_gate) return _forwards.Count; }
    }

    /// <summary>Cancelled when the session is released (closed, or expired by the idle watchdog).</summary>
    public CancellationToken Released => _released.Token;

    /// <summary>True when the idle watchdog released the session.</summary>
    public bool Expired { get; private set; }

    /// <summary>Marks the client as alive (call on every request received).</summary>
    public void Touch()
    {
        lock (_gate) _lastActivity = _time.GetTimestamp();
    }

    /// <summary>
    /// Samples with the token vector, keeps the forward under its id, and returns a copy of the image. Runs for the
    /// whole sampling loop on the calling thread; <paramref name="cancellationToken"/> stops it between UNet calls.
    /// </summary>
    public SessionForwardResult Forward(SessionForward forward, IProgress<DenoisingProgress>? progress,
                                        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(forward);
        CheckIn();
        TokenGradientForward? handle = null;
        try
        {
            lock (_gate)
            {
                if (forward.ForwardId == 0)
                    throw RequestRejectedException.Invalid("forward_id must be at least 1 (0 stands for the session itself in errors).");
                if (_forwards.ContainsKey(forward.ForwardId))
                    throw RequestRejectedException.Invalid(
                        $"forward_id {forward.ForwardId} is already held by this session (made, not yet backpropagated or " +
                        "released); use a new id, or release that forward first.");
                if (_forwards.Count >= _limits.MaxOpenForwardsPerSession)
                    throw new RequestRejectedException(RejectionKind.ResourceExhausted,
                        $"This session already holds {_forwards.Count} forwards, its limit (Diffusion:MaxOpenForwardsPerSession); " +
                        "send their backwards or release them before more forwards.");
            }

            var sampling = forward.Sampling;
            var options = new TokenGradientOptions
            {
                Prompt = sampling.Prompt,
                Placeholder = Settings.Placeholder,
                NegativePrompt = sampling.NegativePrompt,
                Seed = sampling.Seed,
                InitialLatents = forward.InitialLatents,
                Height = sampling.Height,
                Width = sampling.Width,
                Steps = sampling.Steps,
                GuidanceScale = sampling.GuidanceScale,
                Scheduler = sampling.Scheduler,
                Padding = sampling.Padding,
                GradientMode = Settings.GradientMode,
                LoopStyle = Settings.LoopStyle,
                MemoryMode = Settings.MemoryMode,
                Progress = progress,
            };
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _released.Token);
            try
            {
                handle = _sampler.Forward(options, forward.TokenVector, cancel.Token);
            }
            catch (ArgumentException e)
            {
                throw RequestRejectedException.Invalid(e.Message);
            }

            var image = handle.Image.clone().DetachFromDisposeScope();
            var result = new SessionForwardResult(image, handle.Warnings, handle.DifferentiatedCalls, handle.CallsWithGradient.Count);
            lock (_gate)
            {
                if (_isReleased)
                {
                    image.Dispose();
                    throw ReleasedError();
                }
                _forwards.Add(forward.ForwardId, handle);
                handle = null;
                Forwards++;
            }
            return result;
        }
        finally
        {
            handle?.Dispose();
            CheckOut();
        }
    }

    /// <summary>The image shape of an open forward: what its dLoss/dImage must look like.</summary>
    public long[] ImageShape(ulong forwardId)
    {
        lock (_gate)
        {
            ThrowIfReleased();
            return Find(forwardId).Image.shape;
        }
    }

    /// <summary>
    /// dLoss/dToken from dLoss/dImage for an open forward, which is then freed (one backward per forward). The caller
    /// owns the result.
    /// </summary>
    public TokenGradient Backward(ulong forwardId, Tensor imageGradient)
    {
        ArgumentNullException.ThrowIfNull(imageGradient);
        CheckIn();
        try
        {
            TokenGradientForward handle;
            lock (_gate) handle = Find(forwardId);
            CheckImageGradient(imageGradient, handle.Image.shape, forwardId);

            TokenGradient gradient;
            try
            {
                gradient = _sampler.Backward(handle, imageGradient);
            }
            finally
            {
                // Done or failed half-way (a kept graph may be consumed): the forward is finished either way.
                lock (_gate)
                    if (_forwards.Remove(forwardId))
                        handle.Dispose();
            }
            lock (_gate) Backwards++;
            return gradient;
        }
        finally
        {
            CheckOut();
        }
    }

    /// <summary>Frees a forward without a backward; false when the session holds no such forward.</summary>
    public bool Release(ulong forwardId)
    {
        lock (_gate)
        {
            _lastActivity = _time.GetTimestamp();
            if (!_forwards.Remove(forwardId, out var handle)) return false;
            handle.Dispose();
            return true;
        }
    }

    /// <summary>Releases the session (idempotent): frees every forward and its concurrency slot, at once or, while
    /// an operation runs, as soon as it returns.</summary>
    public void Dispose() => ReleaseSession(expired: false);

    /// <summary>Expires the session if it has been idle for longer than <paramref name="timeout"/>.</summary>
    internal bool ExpireIfIdle(TimeSpan timeout)
    {
        lock (_gate)
        {
            if (_isReleased || _busy > 0 || _time.GetElapsedTime(_lastActivity) <= timeout) return false;
        }
        return ReleaseSession(expired: true);
    }

    internal event Action<GradientSession>? Freed;

    private bool ReleaseSession(bool expired)
    {
        lock (_gate)
        {
            if (_isReleased) return false;
            _isReleased = true;
            Expired = expired;
        }
        _released.Cancel();
        FreeIfIdle();
        return true;
    }

    private void CheckIn()
    {
        lock (_gate)
        {
            ThrowIfReleased();
            _busy++;
            _lastActivity = _time.GetTimestamp();
        }
    }

    private void CheckOut()
    {
        lock (_gate)
        {
            _busy--;
            _lastActivity = _time.GetTimestamp();
        }
        FreeIfIdle();
    }

    private void FreeIfIdle()
    {
        List<TokenGradientForward> handles;
        IDisposable? lease;
        lock (_gate)
        {
            if (!_isReleased || _busy > 0 || _freed) return;
            _freed = true;
            handles = [.. _forwards.Values];
            _forwards.Clear();
            lease = _lease;
            _lease = null;
        }
        foreach (var handle in handles) handle.Dispose();
        lease?.Dispose();
        Freed?.Invoke(this);
    }

    private TokenGradientForward Find(ulong forwardId) =>
        _forwards.TryGetValue(forwardId, out var handle)
            ? handle
            : throw RequestRejectedException.Precondition(
                $"This session holds no forward {forwardId}: it was never made, failed, was already backpropagated (one " +
                "backward per forward) or was released. Send a forward with that id first.");

    private void ThrowIfReleased()
    {
        if (_isReleased) throw ReleasedError();
    }

    private RequestRejectedException ReleasedError() => Expired
        ? new RequestRejectedException(RejectionKind.DeadlineExceeded,
            $"Gradient session {Id} was idle for longer than {_limits.SessionIdleTimeout} (Diffusion:SessionIdleTimeout) and " +
            "was released with its forwards; open a new session.")
        : RequestRejectedException.Precondition($"Gradient session {Id} is closed; open a new session.");

    private static void CheckImageGradient(Tensor gradient, long[] imageShape, ulong forwardId)
    {
        if (!gradient.shape.SequenceEqual(imageShape))
            throw RequestRejectedException.Invalid(
                $"dLoss/dImage for forward {forwardId} has shape [{string.Join(", ", gradient.shape)}]; it must have the " +
                $"image's shape [{string.Join(", ", imageShape)}].");
        if (!gradient.is_floating_point())
            throw RequestRejectedException.Invalid(
                $"dLoss/dImage for forward {forwardId} has dtype {gradient.dtype}; send float32 values.");
        using var scope = NewDisposeScope();
        if (!gradient.isfinite().all().item<bool>())
            throw RequestRejectedException.Invalid(
                $"dLoss/dImage for forward {forwardId} contains NaN or infinite values; every value must be finite.");
    }
}
