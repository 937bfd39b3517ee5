using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>
/// What to generate and how. The defaults are the project's sampling defaults (30 steps, guidance 7, the model's own
/// scheduler and size, prompts padded to 77 tokens).
/// </summary>
public sealed record TextToImageOptions
{
    public required string Prompt { get; init; }

    /// <summary>The unconditional side of classifier-free guidance; ignored when guidance is off.</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Image i of the batch starts from noise drawn by a CPU generator seeded with Seed + i.</summary>
    public long Seed { get; init; }

    /// <summary>Inference steps passed to the scheduler (PNDM makes one more UNet call than this).</summary>
    public int Steps { get; init; } = 30;

    /// <summary>w in u + w·(c − u); at or below 1 guidance is off and only the conditional prediction is used.</summary>
    public double GuidanceScale { get; init; } = 7.0;

    /// <summary>Image width in pixels; null = the model's sample size. Must be a multiple of the VAE scale factor.</summary>
    public int? Width { get; init; }

    /// <summary>Image height in pixels; null = the model's sample size. Must be a multiple of the VAE scale factor.</summary>
    public int? Height { get; init; }

    /// <summary>"pndm", "ddim", "euler", "dpmpp2m" or an upstream class name; null = the model's own scheduler.</summary>
    public string? Scheduler { get; init; }

    public PromptPaddingMode Padding { get; init; } = PromptPaddingMode.MaxLength;

    /// <summary>A learned token whose placeholder the prompt contains.</summary>
    public LearnedToken? LearnedToken { get; init; }

    public int ImageCount { get; init; } = 1;

    /// <summary>
    /// Starting latents [ImageCount, latent channels, h/f, w/f] before the init-noise scaling, instead of seeded noise
    /// (e.g. a reference run's). Not modified; its size sets the image size when Width/Height are null.
    /// </summary>
    public torch.Tensor? InitialLatents { get; init; }

    /// <summary>Told after every UNet step.</summary>
    public IProgress<DenoisingProgress>? Progress { get; init; }

    /// <summary>
    /// Called synchronously after every scheduler step with that step's tensors (diagnostics and parity checks). The
    /// tensors are borrowed (see <see cref="DenoisingStep"/> for keeping one).
    /// </summary>
    public Action<DenoisingStep>? StepObserver { get; init; }
}
