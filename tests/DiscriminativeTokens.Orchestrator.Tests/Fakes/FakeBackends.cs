using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestrator.Tests.Fakes;

/// <summary>How a fake service behaves: answering, refusing to connect (transient failure) or never answering.</summary>
public enum FakeBehaviour { Answer, Unreachable, Hang }

/// <summary>
/// A diffusion backend with a tiny scripted vocabulary (each word one token) and model facts; generation returns a
/// seed-dependent image. Enough for the job system, which never looks inside the numbers.
/// </summary>
public sealed class FakeDiffusionBackend(string name, string address, FakeBehaviour behaviour = FakeBehaviour.Answer) : IDiffusionBackend
{
    public const int Hidden = 8;
    public const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    public static readonly DiffusionModelInfo Info = new(
        ModelId: "fake-sd", TextHiddenSize: Hidden, SampleSize: 32, VaeScaleFactor: 8, LatentChannels: 4,
        Scheduler: "pndm", AvailableSchedulers: ["pndm", "ddim"], MaxTokenLength: 77, TextEncoderSha256: Sha,
        MaxSteps: 50, MaxImageSize: 256, Device: "cpu");

    public static readonly IReadOnlyDictionary<string, float[]> Vocabulary = new Dictionary<string, float[]>
    {
        ["a"] = Enumerable.Range(0, Hidden).Select(i => 0.1f * (i + 1)).ToArray(),
        ["photo"] = Enumerable.Range(0, Hidden).Select(i => -0.05f * i).ToArray(),
    };

    public string Name => name;
    public string Address => address;
    public int Generated;

    public async Task<DiffusionModelInfo> GetModelInfoAsync(CancellationToken cancellationToken)
    {
        await Behave(cancellationToken);
        return Info;
    }

    public async Task<float[]> GetTokenEmbeddingAsync(string word, CancellationToken cancellationToken)
    {
        await Behave(cancellationToken);
        return Vocabulary.TryGetValue(word, out var e)
            ? (float[])e.Clone()
            : throw new BackendException(name, BackendFailure.InvalidRequest, $"'{word}' is not a single token");
    }

    public Task<IDiffusionGradientSession> OpenGradientSessionAsync(GradientSessionOptions options, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The job tests script the training engine; no gradient sessions.");

    public async Task<TensorData> GenerateAsync(SamplingSettings sampling, LearnedTokenVector? token, CancellationToken cancellationToken)
    {
        await Behave(cancellationToken);
        Interlocked.Increment(ref Generated);
        int size = 8;
        var values = new float[3 * size * size];
        var random = new Random((int)sampling.Seed + (token is null ? 0 : 7));
        for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble();
        return new TensorData(values, [1, 3, size, size]);
    }

    private async Task Behave(CancellationToken cancellationToken)
    {
        switch (behaviour)
        {
            case FakeBehaviour.Unreachable:
                throw new BackendException(name, BackendFailure.Transient, $"connection refused ({address})");
            case FakeBehaviour.Hang:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                break;
        }
    }
}

public sealed class FakeClassifierBackend(string name, string address, FakeBehaviour behaviour = FakeBehaviour.Answer) : IClassifierBackend
{
    /// <summary>"triangle" twice on purpose: an ambiguous label.</summary>
    public static readonly IReadOnlyList<string> Labels = ["circle", "square", "triangle pointing down", "triangle", "triangle"];

    public string Name => name;
    public string Address => address;

    public async Task<ClassifierModelInfo> GetInfoAsync(CancellationToken cancellationToken)
    {
        if (behaviour == FakeBehaviour.Unreachable)
            throw new BackendException(name, BackendFailure.Transient, $"connection refused ({address})");
        if (behaviour == FakeBehaviour.Hang)
            await Task.Delay(Timeout.Infinite, cancellationToken);
        return new ClassifierModelInfo("fake-vit", Labels.Count, Labels);
    }

    public Task<ClassifierLoss> LossAndGradientAsync(TensorData image, int targetClassId, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The job tests script the training engine.");

    public Task<IReadOnlyList<ClassifierPrediction>> ClassifyAsync(TensorData images, int targetClassId, CancellationToken cancellationToken)
    {
        // "Correct" when the image's first value is above one half: deterministic per seed.
        IReadOnlyList<ClassifierPrediction> result =
            [new ClassifierPrediction(images.Values[0] > 0.5f ? targetClassId : 0, images.Values[0])];
        return Task.FromResult(result);
    }
}

/// <summary>Creates fake backends; addresses decide how they behave (see <see cref="Behaviour"/>).</summary>
public sealed class FakeBackendFactory : IBackendFactory
{
    public const string Default = "http://127.0.0.1:5101";
    public const string DefaultClassifier = "http://127.0.0.1:5102";
    public const string Unreachable = "http://127.0.0.1:1";
    public const string Hanging = "http://10.255.255.1:9";

    public int Created;

    public IDiffusionBackend CreateDiffusion(string name, string address)
    {
        Interlocked.Increment(ref Created);
        return new FakeDiffusionBackend(name, address, Behaviour(address));
    }

    public IClassifierBackend CreateClassifier(string name, string address)
    {
        Interlocked.Increment(ref Created);
        return new FakeClassifierBackend(name, address, Behaviour(address));
    }

    private static FakeBehaviour Behaviour(string address) => address switch
    {
        Unreachable => FakeBehaviour.Unreachable,
        Hanging => FakeBehaviour.Hang,
        _ => FakeBehaviour.Answer,
    };
}
