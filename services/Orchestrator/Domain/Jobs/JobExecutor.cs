using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>Runs a job with the runner of its kind.</summary>
public sealed class JobExecutor(TrainingJobRunner training, EvaluationJobRunner evaluation) : IJobExecutor
{
    public Task<JobFinished> RunAsync(JobRun run, CancellationToken cancellationToken) => run.Job.Kind switch
    {
        JobKind.Training => training.RunAsync(run, cancellationToken),
        JobKind.Evaluation => evaluation.RunAsync(run, cancellationToken),
        _ => throw new InvalidOperationException($"Job {run.JobId} has an unknown kind {run.Job.Kind}."),
    };
}
