namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>Where jobs live and how many run at once.</summary>
public sealed record JobManagerOptions
{
    /// <summary>Holds jobs.db and jobs/&lt;job id&gt;/ artifact folders.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Jobs running at the same time; the rest wait in creation order.</summary>
    public int MaxConcurrentJobs { get; init; } = 1;

    public string ArtifactsDirectory(string jobId) => Path.Combine(Path.GetFullPath(DataDirectory), "jobs", jobId);
}
