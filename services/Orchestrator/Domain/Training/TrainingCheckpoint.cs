namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// The complete optimizer-side state after an epoch's optimizer step: resuming from it continues bit for bit as if
/// the run had never stopped. The noise needs no state of its own: every epoch restarts the generator from the seed.
/// </summary>
public sealed record TrainingCheckpoint
{
    /// <summary>Epochs completed (the next epoch to run is this number, 0-based).</summary>
    public required int EpochsCompleted { get; init; }
    /// <summary>Token vector after the last optimizer step.</summary>
    public required float[] Token { get; init; }
    /// <summary>AdamW first and second moments and its step count.</summary>
    public required float[] ExpAvg { get; init; }
    public required float[] ExpAvgSq { get; init; }
    public required long OptimizerSteps { get; init; }
    /// <summary>Lowest epoch loss so far and the token vector that produced it (+inf/null before the first epoch).</summary>
    public required double BestLoss { get; init; }
    public required float[]? BestToken { get; init; }
    public required int BestEpoch { get; init; }
    /// <summary>Consecutive epochs without a lower loss.</summary>
    public required int EpochsWithoutImprovement { get; init; }
    public required double LastAccuracy { get; init; }
    /// <summary>Seed of the epoch noise generator (each epoch re-seeds it), kept to refuse resuming with other settings.</summary>
    public required ulong Seed { get; init; }
}
