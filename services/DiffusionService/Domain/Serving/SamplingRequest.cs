using DiscriminativeTokens.Diffusion.Pipelines;

namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>
/// Sampling settings as a caller sends them: zero means "the default" (30 steps, guidance 7, the model's sample
/// size), null or empty scheduler means the model's own. <see cref="SamplingValidator"/> checks and resolves them.
/// </summary>
public sealed record SamplingRequest
{
    public string Prompt { get; init; } = "";
    public string NegativePrompt { get; init; } = "";
    public long Seed { get; init; }
    public int Steps { get; init; }
    public double GuidanceScale { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public string? Scheduler { get; init; }
    public PromptPaddingMode Padding { get; init; } = PromptPaddingMode.MaxLength;
}

/// <summary>Checked sampling settings with every default filled in.</summary>
public sealed record ResolvedSampling(
    string Prompt,
    string NegativePrompt,
    long Seed,
    int Steps,
    double GuidanceScale,
    int Width,
    int Height,
    string? Scheduler,
    PromptPaddingMode Padding);
