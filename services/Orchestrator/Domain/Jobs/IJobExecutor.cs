using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// Runs one job to its end. The manager owns the job's state: the executor appends progress events through
/// <see cref="JobRun"/> and returns how the job finished; it throws to fail the job and throws
/// <see cref="OperationCanceledException"/> when the token is cancelled (cancellation or shutdown).
/// </summary>
public interface IJobExecutor
{
    Task<JobFinished> RunAsync(JobRun run, CancellationToken cancellationToken);
}
