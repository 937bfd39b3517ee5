using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Evaluation;

/// <summary>
/// What an evaluation generates and scores: one image per seed from the token prompt and from the baseline prompt,
/// with the training sampler settings unless told otherwise. Seeds must not include the training seed.
/// </summary>
public sealed record EvaluationSettings
{
    public required LearnedTokenVector Token { get; init; }
    public required int ClassId { get; init; }
    public required string ClassPromptName { get; init; }
    /// <summary>"{token}" and "{class}" are replaced.</summary>
    public string TokenPrompt { get; init; } = "A photo of {token} {class}";
    public string BaselinePrompt { get; init; } = "A photo of a {class}";
    public required IReadOnlyList<ulong> Seeds { get; init; }
    /// <summary>The training seed, refused in <see cref="Seeds"/>.</summary>
    public required ulong TrainingSeed { get; init; }
    public int Steps { get; init; } = 30;
    public double GuidanceScale { get; init; } = 7.0;
    /// <summary>Image side in pixels; null = the model's sample size.</summary>
    public int? ImageSize { get; init; }
    public string? Scheduler { get; init; }
    public PromptPadding Padding { get; init; } = PromptPadding.MaxLength;
}
