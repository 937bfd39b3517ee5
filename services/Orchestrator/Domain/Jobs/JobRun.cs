using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>What an executor gets for one run of a job: its record, its artifacts folder and a way to report.</summary>
public sealed class JobRun(Job job, string artifactsDirectory, Func<JobEvent, Action<Job>?, JobEvent> append)
{
    /// <summary>The job as it was when this run started.</summary>
    public Job Job { get; } = job;

    public string JobId => Job.JobId;

    /// <summary>&lt;data&gt;/jobs/&lt;job id&gt;/, created before the run starts.</summary>
    public string ArtifactsDirectory { get; } = artifactsDirectory;

    /// <summary>Appends an event (sequence and time are filled in) and applies <paramref name="update"/> to the job
    /// row in the same transaction; watchers see it at once.</summary>
    public JobEvent Append(JobEvent payload, Action<Job>? update = null) => append(payload, update);
}
