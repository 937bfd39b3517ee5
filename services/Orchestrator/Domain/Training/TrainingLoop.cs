using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>The discriminative-token optimization loop (DESIGN.md §1, §3). Implementation lands with branch loop.</summary>
public sealed class TrainingLoop
{
#pragma warning disable IDE0060, CA1822 // signature placeholder until the loop lands
    public TrainingLoop(IDiffusionBackend diffusion, IClassifierBackend classifier, TrainingSettings settings,
        ITrainingObserver observer, MicroStepRetryOptions? retry = null, TimeProvider? time = null) { }
#pragma warning restore IDE0060, CA1822

    /// <summary>Trains from the initializer's embedding, or continues from <paramref name="resumeFrom"/>.</summary>
    public Task<TrainingOutcome> RunAsync(TrainingCheckpoint? resumeFrom, CancellationToken cancellationToken) =>
        throw new NotImplementedException("TrainingLoop lands with branch loop.");
}
