using DiscriminativeTokens.Hosting;
using DiscriminativeTokens.Orchestration.Jobs;

namespace DiscriminativeTokens.Orchestrator;

/// <summary>
/// Starts the job manager with the process (re-queueing what the previous process left unfinished) and marks the
/// service ready afterwards; at shutdown stops running jobs without ending them, so the next start resumes them.
/// </summary>
internal sealed class JobManagerLifetime(JobManager jobs, JobStore store, ServiceReadiness readiness,
    ILogger<JobManagerLifetime> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        int requeued = jobs.Start();
        logger.LogInformation("Job store {Path} open; {Count} unfinished job(s) queued again; up to {Max} run at once",
                              store.DatabasePath, requeued, jobs.Options.MaxConcurrentJobs);
        readiness.MarkReady($"job store open at {store.DatabasePath}; {requeued} unfinished job(s) re-queued");
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        readiness.MarkFailed("stopping");
        await jobs.DisposeAsync();
    }
}
