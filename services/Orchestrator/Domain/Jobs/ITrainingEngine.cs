using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// The optimization a training job runs. <see cref="TrainingLoopEngine"/> is the real one; tests script one to drive
/// the job system (events, checkpoints, resume) without models.
/// </summary>
public interface ITrainingEngine
{
    Task<TrainingOutcome> RunAsync(IDiffusionBackend diffusion, IClassifierBackend classifier, TrainingSettings settings,
        ITrainingObserver observer, MicroStepRetryOptions retry, TrainingCheckpoint? resumeFrom,
        CancellationToken cancellationToken);
}

/// <summary>Runs <see cref="TrainingLoop"/>.</summary>
public sealed class TrainingLoopEngine(TimeProvider? time = null) : ITrainingEngine
{
    public Task<TrainingOutcome> RunAsync(IDiffusionBackend diffusion, IClassifierBackend classifier,
        TrainingSettings settings, ITrainingObserver observer, MicroStepRetryOptions retry,
        TrainingCheckpoint? resumeFrom, CancellationToken cancellationToken) =>
        new TrainingLoop(diffusion, classifier, settings, observer, retry, time).RunAsync(resumeFrom, cancellationToken);
}
