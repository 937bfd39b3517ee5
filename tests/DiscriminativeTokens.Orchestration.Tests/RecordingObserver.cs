using System.Collections.Concurrent;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Tests;

/// <summary>Keeps every report and checkpoint of a run, in the order they came.</summary>
public sealed class RecordingObserver : ITrainingObserver
{
    public ConcurrentQueue<MicroStepReport> MicroSteps { get; } = new();
    public ConcurrentQueue<EpochReport> Epochs { get; } = new();
    public ConcurrentQueue<RetryReport> Retries { get; } = new();
    public ConcurrentQueue<TrainingCheckpoint> Checkpoints { get; } = new();

    /// <summary>Called after each micro-step is recorded (e.g. to cancel the run).</summary>
    public Action<MicroStepReport>? AfterMicroStep { get; init; }

    public void OnMicroStep(MicroStepReport report)
    {
        MicroSteps.Enqueue(report);
        AfterMicroStep?.Invoke(report);
    }

    public void OnEpoch(EpochReport report) => Epochs.Enqueue(report);
    public void OnRetry(RetryReport report) => Retries.Enqueue(report);

    public Task OnCheckpointAsync(TrainingCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        Checkpoints.Enqueue(checkpoint);
        return Task.CompletedTask;
    }
}
