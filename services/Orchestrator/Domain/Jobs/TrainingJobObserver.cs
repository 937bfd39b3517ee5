using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// Turns the loop's reports into job events and keeps the job row's progress columns current. Checkpoints are
/// written (atomically) before their CheckpointWritten event, so an event never points at a file that is not there.
/// </summary>
internal sealed class TrainingJobObserver(JobRun run, string checkpointPath, ClassifierModelInfo classifier) : ITrainingObserver
{
    public void OnMicroStep(MicroStepReport report) =>
        run.Append(new JobEvent
        {
            MicroStep = new MicroStep
            {
                Epoch = report.Epoch,
                Index = report.Index,
                Prompt = report.Prompt,
                Seed = report.Seed,
                Loss = report.Loss,
                PredictedClassId = report.PredictedClassId,
                PredictedLabel = BackendCalls.Label(classifier, report.PredictedClassId),
                TargetProbability = report.TargetProbability,
                Seconds = report.Seconds,
            },
        });

    public void OnEpoch(EpochReport report) =>
        run.Append(new JobEvent
        {
            Epoch = new EpochSummary
            {
                Epoch = report.Epoch,
                Loss = report.Loss,
                Accuracy = report.Accuracy,
                GradNorm = report.GradNorm,
                ClippedGradNorm = report.ClippedGradNorm,
                Best = report.Best,
                Seconds = report.Seconds,
            },
        }, job =>
        {
            job.EpochsCompleted = Math.Max(job.EpochsCompleted, report.Epoch + 1);
            if (report.Best) job.BestLoss = report.Loss;
            job.LastAccuracy = report.Accuracy;
        });

    public void OnRetry(RetryReport report) =>
        run.Append(new JobEvent
        {
            Retry = new RetryScheduled
            {
                Service = report.Service,
                Attempt = report.Attempt,
                DelaySeconds = report.Delay.TotalSeconds,
                Reason = report.Reason,
            },
        });

    public Task OnCheckpointAsync(TrainingCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        CheckpointFile.Write(checkpointPath, checkpoint);
        run.Append(new JobEvent { Checkpoint = new CheckpointWritten { Epoch = checkpoint.EpochsCompleted, Path = checkpointPath } },
                   job => Apply(job, checkpoint));
        return Task.CompletedTask;
    }

    /// <summary>The job row's progress as of a checkpoint (what a resumed run continues from).</summary>
    public static void Apply(Job job, TrainingCheckpoint checkpoint)
    {
        job.EpochsCompleted = checkpoint.EpochsCompleted;
        if (double.IsFinite(checkpoint.BestLoss)) job.BestLoss = checkpoint.BestLoss;
        job.LastAccuracy = checkpoint.LastAccuracy;
    }
}
