using DiscriminativeTokens.Diffusion.Serving;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>
/// Configuration section "Diffusion" (command line <c>--Diffusion:Model ...</c>, environment <c>Diffusion__Model</c>,
/// or appsettings.json). Only <see cref="Model"/> is required; see README.md ("Diffusion service configuration").
/// </summary>
public sealed class DiffusionOptions
{
    public const string Section = "Diffusion";

    /// <summary>A diffusers model folder, or a hub id "org/name[@revision]" found in the local Hugging Face cache.</summary>
    public string? Model { get; set; }

    /// <summary>"auto" (CUDA when available), "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Weights variant such as "fp16" (loaded as float32); empty = the plain files.</summary>
    public string? Variant { get; set; }

    /// <summary>LibTorch intra-op threads for CPU work; 0 = LibTorch's default (one per core). On a small or shared
    /// machine serving a small model, 1 is often several times faster (no thread hand-offs on every tiny op).</summary>
    public int Threads { get; set; }

    /// <summary>After this long without any computation, freed native memory is returned to the operating system
    /// (glibc malloc_trim); 0 turns it off.</summary>
    public TimeSpan TrimHeapWhenIdle { get; set; } = TimeSpan.FromSeconds(5);

    public int MaxConcurrent { get; set; } = new ServingLimits().MaxConcurrent;
    public TimeSpan SessionIdleTimeout { get; set; } = new ServingLimits().SessionIdleTimeout;
    public int MaxSteps { get; set; } = new ServingLimits().MaxSteps;
    public int MaxImageSize { get; set; } = new ServingLimits().MaxImageSize;
    public int MaxImagesPerRequest { get; set; } = new ServingLimits().MaxImagesPerRequest;
    public int MaxOpenForwardsPerSession { get; set; } = new ServingLimits().MaxOpenForwardsPerSession;

    public ServingLimits ToLimits() => new ServingLimits
    {
        MaxConcurrent = MaxConcurrent,
        SessionIdleTimeout = SessionIdleTimeout,
        MaxSteps = MaxSteps,
        MaxImageSize = MaxImageSize,
        MaxImagesPerRequest = MaxImagesPerRequest,
        MaxOpenForwardsPerSession = MaxOpenForwardsPerSession,
    }.Validated();
}
