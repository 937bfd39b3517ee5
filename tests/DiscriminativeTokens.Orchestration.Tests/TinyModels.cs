using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Orchestration.InProcess;
using DiscriminativeTokens.Testing;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Orchestration.Tests;

/// <summary>sd-tiny and its vit-tiny classifier loaded once, behind the in-process backends.</summary>
public sealed class TinyModels : IDisposable
{
    public TinyModels()
    {
        Engine = new DiffusionEngine(StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU), new ServingLimits());
        Classifier = ClassifierLoader.LoadVit(Path.Combine(RepositoryPaths.SdTiny, "vit-tiny"), CPU);
        Diffusion = new InProcessDiffusionBackend(Engine);
        ClassifierBackend = new InProcessClassifierBackend(Classifier);
        _referenceRun = new(() => TrainingRuns.RunAsync(Diffusion, ClassifierBackend, TrainingRuns.Small()));
    }

    /// <summary>The unfailing run of <see cref="TrainingRuns.Small"/> (overlap on) that other runs are compared to.</summary>
    public Task<RecordedRun> ReferenceRun => _referenceRun.Value;

    private readonly Lazy<Task<RecordedRun>> _referenceRun;

    public DiffusionEngine Engine { get; }
    public ClassifierPipeline Classifier { get; }
    public InProcessDiffusionBackend Diffusion { get; }
    public InProcessClassifierBackend ClassifierBackend { get; }

    public void Dispose()
    {
        Classifier.Dispose();
        Engine.Dispose();
    }
}

/// <summary>The classes using the models share one copy and run one after another (they time nothing, but two
/// training runs at once would only slow each other down on a small machine).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TinyModelsCollection : ICollectionFixture<TinyModels>
{
    public const string Name = "tiny models";
}
