using System.Diagnostics;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Tests;

/// <summary>A finished run: its outcome, everything it reported, and how long it took.</summary>
public sealed record RecordedRun(TrainingOutcome Outcome, RecordingObserver Observer, double Seconds)
{
    public TrainingCheckpoint LastCheckpoint => Observer.Checkpoints.Last();
}

/// <summary>Small training settings on the tiny fixtures, and a helper to run them.</summary>
public static class TrainingRuns
{
    /// <summary>
    /// 3 micro-steps of 4 PNDM steps at 32x32, 3 epochs, no early stop. The vit-tiny classifier barely reacts to
    /// sd-tiny's images (the loss moves in the 4th decimal), and the last UNet call alone barely moves them, so the
    /// tests differentiate every call (GradientPath.Full) and use a learning rate of 0.5 instead of 0.00125. Class 4
    /// is one the classifier does not predict for these images (it predicts 0), so there is something to learn.
    /// </summary>
    public static TrainingSettings Small(bool overlap = true) => new()
    {
        ClassId = 4,
        ClassPromptName = "cat",
        MicroStepsPerEpoch = 3,
        Steps = 4,
        ImageSize = 32,
        GradientPath = GradientPath.Full,
        MemoryMode = SessionMemoryMode.Recompute,
        LearningRate = 0.5,
        TargetAccuracy = 1.0,
        PatienceEpochs = 10,
        MaxEpochs = 3,
        Overlap = overlap,
    };

    /// <summary>Tiny delays so redone micro-steps do not slow the tests down.</summary>
    public static MicroStepRetryOptions FastRetries { get; } = new()
    {
        MaxRetryAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5),
    };

    public static async Task<RecordedRun> RunAsync(IDiffusionBackend diffusion, IClassifierBackend classifier,
        TrainingSettings settings, TrainingCheckpoint? resumeFrom = null, RecordingObserver? observer = null,
        MicroStepRetryOptions? retry = null, CancellationToken cancellationToken = default)
    {
        observer ??= new RecordingObserver();
        var watch = Stopwatch.StartNew();
        var loop = new TrainingLoop(diffusion, classifier, settings, observer, retry ?? FastRetries);
        var outcome = await loop.RunAsync(resumeFrom, cancellationToken);
        return new RecordedRun(outcome, observer, watch.Elapsed.TotalSeconds);
    }
}
