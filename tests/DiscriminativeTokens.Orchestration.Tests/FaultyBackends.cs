using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Tests;

public enum FaultPoint { Forward, Classifier, Backward }

/// <summary>
/// Decides which call fails: the <see cref="OnCall"/>-th call at <see cref="Point"/> (1-based, counting every call,
/// prefetched forwards included) fails after the real call has run, as when a response is lost on the way back; with
/// <see cref="FromThenOn"/> every later call fails too.
/// </summary>
public sealed class FaultPlan(FaultPoint point, int onCall, BackendFailure failure = BackendFailure.Transient, bool fromThenOn = false)
{
    private int _calls;

    public FaultPoint Point { get; } = point;
    public int OnCall { get; } = onCall;
    public bool FromThenOn { get; } = fromThenOn;
    public int Failures { get; private set; }

    public void AfterCall(FaultPoint point, string service)
    {
        if (point != Point) return;
        int call = Interlocked.Increment(ref _calls);
        if (call == OnCall || (FromThenOn && call > OnCall))
        {
            Failures++;
            throw new BackendException(service, failure, $"injected {failure} failure of {point} call {call}");
        }
    }
}

/// <summary>The real diffusion backend with failures injected into its gradient sessions.</summary>
public sealed class FaultyDiffusionBackend(IDiffusionBackend inner, FaultPlan plan) : IDiffusionBackend
{
    public string Name => "faulty-diffusion";
    public string Address => inner.Address;
    public int SessionsOpened { get; private set; }

    public Task<DiffusionModelInfo> GetModelInfoAsync(CancellationToken cancellationToken) => inner.GetModelInfoAsync(cancellationToken);
    public Task<float[]> GetTokenEmbeddingAsync(string word, CancellationToken cancellationToken) =>
        inner.GetTokenEmbeddingAsync(word, cancellationToken);
    public Task<TensorData> GenerateAsync(SamplingSettings sampling, LearnedTokenVector? token, CancellationToken cancellationToken) =>
        inner.GenerateAsync(sampling, token, cancellationToken);

    public async Task<IDiffusionGradientSession> OpenGradientSessionAsync(GradientSessionOptions options, CancellationToken cancellationToken)
    {
        SessionsOpened++;
        return new Session(await inner.OpenGradientSessionAsync(options, cancellationToken), plan, Name);
    }

    private sealed class Session(IDiffusionGradientSession inner, FaultPlan plan, string name) : IDiffusionGradientSession
    {
        public async Task<ForwardResult> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken)
        {
            var result = await inner.ForwardAsync(request, cancellationToken);
            plan.AfterCall(FaultPoint.Forward, name);
            return result;
        }

        public async Task<TokenGradientResult> BackwardAsync(ulong forwardId, TensorData imageGradient, CancellationToken cancellationToken)
        {
            var result = await inner.BackwardAsync(forwardId, imageGradient, cancellationToken);
            plan.AfterCall(FaultPoint.Backward, name);
            return result;
        }

        public Task ReleaseAsync(ulong forwardId, CancellationToken cancellationToken) => inner.ReleaseAsync(forwardId, cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>The real classifier backend with failures injected into its loss-and-gradient calls.</summary>
public sealed class FaultyClassifierBackend(IClassifierBackend inner, FaultPlan plan) : IClassifierBackend
{
    public string Name => "faulty-classifier";
    public string Address => inner.Address;

    public Task<ClassifierModelInfo> GetInfoAsync(CancellationToken cancellationToken) => inner.GetInfoAsync(cancellationToken);

    public async Task<ClassifierLoss> LossAndGradientAsync(TensorData image, int targetClassId, CancellationToken cancellationToken)
    {
        var result = await inner.LossAndGradientAsync(image, targetClassId, cancellationToken);
        plan.AfterCall(FaultPoint.Classifier, Name);
        return result;
    }

    public Task<IReadOnlyList<ClassifierPrediction>> ClassifyAsync(TensorData images, int targetClassId, CancellationToken cancellationToken) =>
        inner.ClassifyAsync(images, targetClassId, cancellationToken);
}
