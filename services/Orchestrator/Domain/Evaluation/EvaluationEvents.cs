using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Evaluation;

/// <summary>"token" or "baseline".</summary>
public enum EvaluationPromptKind { Token, Baseline }

/// <summary>One scored image; <see cref="Image"/> is [1, 3, H, W] in [0, 1] for the caller to keep.</summary>
public sealed record EvaluationImageReport(
    EvaluationPromptKind Kind, string Prompt, ulong Seed, int PredictedClassId, float TargetProbability, bool Correct,
    TensorData Image);

public interface IEvaluationObserver
{
    /// <summary>Called once per image, in order; may persist the image before returning.</summary>
    Task OnImageAsync(EvaluationImageReport report, CancellationToken cancellationToken);
}

/// <summary>Both accuracies with the number of images and the seeds behind them.</summary>
public sealed record EvaluationOutcome(
    string TokenPrompt, string BaselinePrompt, double TokenAccuracy, double BaselineAccuracy, int ImagesPerPrompt,
    IReadOnlyList<ulong> Seeds, string ClassifierModelId);
