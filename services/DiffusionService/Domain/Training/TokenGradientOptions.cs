using DiscriminativeTokens.Diffusion.Pipelines;
using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>
/// One differentiable generation for learning a token: the prompt (containing <see cref="Placeholder"/>), the sampler
/// settings, the starting noise and which calls are differentiated. Defaults follow the DCT method with our fixes
/// (prompts padded to 77 tokens, proper scheduler scalings).
/// </summary>
public sealed record TokenGradientOptions
{
    /// <summary>The prompt; must contain <see cref="Placeholder"/>.</summary>
    public required string Prompt { get; init; }

    /// <summary>The token string whose input embedding is the learned vector, e.g. "newclas".</summary>
    public required string Placeholder { get; init; }

    /// <summary>The unconditional prompt of classifier-free guidance.</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Seed of the CPU torch.Generator that draws the starting latents (ignored with <see cref="InitialLatents"/>).
    /// Negative values wrap to uint64 as in PyTorch.</summary>
    public long Seed { get; init; }

    /// <summary>Explicit starting latents [1, unet in_channels, h, w] (before init_noise_sigma); null = draw from <see cref="Seed"/>.
    /// The tensor is copied; the caller keeps ownership.</summary>
    public torch.Tensor? InitialLatents { get; init; }

    /// <summary>Image height in pixels; null = the model's sample size (or the size implied by <see cref="InitialLatents"/>).</summary>
    public int? Height { get; init; }

    /// <summary>Image width in pixels; null = the model's sample size (or the size implied by <see cref="InitialLatents"/>).</summary>
    public int? Width { get; init; }

    public int Steps { get; init; } = 30;

    /// <summary>Classifier-free guidance scale w (guided = u + w·(c − u)); at or below 1 only the conditional branch
    /// runs, as in diffusers.</summary>
    public double GuidanceScale { get; init; } = 7.0;

    /// <summary>Scheduler name ("pndm", "ddim", "euler", "dpmpp2m"); null = the model's own.</summary>
    public string? Scheduler { get; init; }

    public PromptPaddingMode Padding { get; init; } = PromptPaddingMode.MaxLength;

    public GradientMode GradientMode { get; init; } = GradientMode.Reference;

    public SamplingLoopStyle LoopStyle { get; init; } = SamplingLoopStyle.Proper;

    public GradientMemoryMode MemoryMode { get; init; } = GradientMemoryMode.Recompute;

    /// <summary>Told after every UNet call of the forward pass, on the sampling thread.</summary>
    public IProgress<DenoisingProgress>? Progress { get; init; }
}
