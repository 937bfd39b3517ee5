namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>One generated image of an epoch, after the classifier and the backward pass.</summary>
public sealed record MicroStepReport(
    int Epoch, int Index, string Prompt, ulong Seed, float Loss, int PredictedClassId, float TargetProbability,
    double Seconds);

/// <summary>An epoch's outcome. <see cref="Best"/>: its loss is the lowest so far and its token is kept.</summary>
public sealed record EpochReport(
    int Epoch, double Loss, double Accuracy, double GradNorm, double ClippedGradNorm, bool Best, double Seconds);

/// <summary>A downstream call failed transiently; the micro-step restarts from its beginning after the delay.</summary>
public sealed record RetryReport(string Service, int Attempt, TimeSpan Delay, string Reason);

/// <summary>
/// What the loop reports while it runs. <see cref="OnCheckpointAsync"/> must persist the checkpoint durably before
/// it returns (the loop does not continue until it has).
/// </summary>
public interface ITrainingObserver
{
    void OnMicroStep(MicroStepReport report);
    void OnEpoch(EpochReport report);
    void OnRetry(RetryReport report);
    Task OnCheckpointAsync(TrainingCheckpoint checkpoint, CancellationToken cancellationToken);
}

/// <summary>Why training stopped.</summary>
public enum StopReason { TargetAccuracy, Patience, MaxEpochs }

/// <summary>The result: the kept (lowest-loss) token and how training ended.</summary>
public sealed record TrainingOutcome(
    float[] BestToken, double BestLoss, int BestEpoch, int Epochs, double FinalAccuracy, StopReason Reason,
    IReadOnlyList<string> Prompts);
