using System.Collections.Concurrent;
using System.Diagnostics;
using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>Wall time of each backend call the training loop makes, by kind (open, forward, loss, backward, close),
/// for a breakdown of where a micro-step's time goes. Only meaningful with overlap off (calls then do not overlap).</summary>
internal sealed class CallTimes
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<double>> _seconds = new();
    public bool Recording { get; set; }

    public async Task<T> TimeAsync<T>(string kind, Func<Task<T>> call)
    {
        long start = Stopwatch.GetTimestamp();
        var result = await call();
        if (Recording) _seconds.GetOrAdd(kind, _ => []).Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        return result;
    }

    public IEnumerable<(string Kind, Stats Stats, int Count)> Summary() =>
        _seconds.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, Stats.Of(p.Value.ToArray()), p.Value.Count));
}

internal sealed class TimedDiffusionBackend(IDiffusionBackend inner, CallTimes times) : IDiffusionBackend
{
    public string Name => inner.Name;
    public string Address => inner.Address;

    public Task<DiffusionModelInfo> GetModelInfoAsync(CancellationToken cancellationToken) => inner.GetModelInfoAsync(cancellationToken);

    public Task<float[]> GetTokenEmbeddingAsync(string word, CancellationToken cancellationToken) =>
        inner.GetTokenEmbeddingAsync(word, cancellationToken);

    public async Task<IDiffusionGradientSession> OpenGradientSessionAsync(GradientSessionOptions options, CancellationToken cancellationToken) =>
        new Session(await times.TimeAsync("1 open session", () => inner.OpenGradientSessionAsync(options, cancellationToken)), times);

    public Task<TensorData> GenerateAsync(SamplingSettings sampling, LearnedTokenVector? token, CancellationToken cancellationToken) =>
        inner.GenerateAsync(sampling, token, cancellationToken);

    private sealed class Session(IDiffusionGradientSession inner, CallTimes times) : IDiffusionGradientSession
    {
        public Task<ForwardResult> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken) =>
            times.TimeAsync("2 forward", () => inner.ForwardAsync(request, cancellationToken));

        public Task<TokenGradientResult> BackwardAsync(ulong forwardId, TensorData imageGradient, CancellationToken cancellationToken) =>
            times.TimeAsync("4 backward", () => inner.BackwardAsync(forwardId, imageGradient, cancellationToken));

        public Task ReleaseAsync(ulong forwardId, CancellationToken cancellationToken) => inner.ReleaseAsync(forwardId, cancellationToken);

        public async ValueTask DisposeAsync() =>
            await times.TimeAsync("5 close session", async () => { await inner.DisposeAsync(); return 0; });
    }
}

internal sealed class TimedClassifierBackend(IClassifierBackend inner, CallTimes times) : IClassifierBackend
{
    public string Name => inner.Name;
    public string Address => inner.Address;

    public Task<ClassifierModelInfo> GetInfoAsync(CancellationToken cancellationToken) => inner.GetInfoAsync(cancellationToken);

    public Task<ClassifierLoss> LossAndGradientAsync(TensorData image, int targetClassId, CancellationToken cancellationToken) =>
        times.TimeAsync("3 classifier loss and gradient", () => inner.LossAndGradientAsync(image, targetClassId, cancellationToken));

    public Task<IReadOnlyList<ClassifierPrediction>> ClassifyAsync(TensorData images, int targetClassId, CancellationToken cancellationToken) =>
        inner.ClassifyAsync(images, targetClassId, cancellationToken);
}
