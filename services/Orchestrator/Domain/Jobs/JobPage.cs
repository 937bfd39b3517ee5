using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>One page of a job listing; <see cref="NextPageToken"/> is empty on the last page.</summary>
public sealed record JobPage(IReadOnlyList<Job> Jobs, string NextPageToken);
