using DiscriminativeTokens.Diffusion.Training;

namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>What a gradient session fixes for all its forwards.</summary>
public sealed record SessionSettings(
    string Placeholder,
    GradientMode GradientMode,
    GradientMemoryMode MemoryMode,
    SamplingLoopStyle LoopStyle);

/// <summary>One forward of a session, checked: the sampling settings, the token vector and optional starting latents
/// (both borrowed: the sampler copies them).</summary>
public sealed record SessionForward(
    ulong ForwardId,
    ResolvedSampling Sampling,
    TorchSharp.torch.Tensor TokenVector,
    TorchSharp.torch.Tensor? InitialLatents);

/// <summary>A forward's result: the image [1, 3, H, W] in [0, 1] (owned by the receiver), what the prompt encoder
/// warned about and how many of the run's UNet calls are differentiated.</summary>
public sealed record SessionForwardResult(
    TorchSharp.torch.Tensor Image,
    IReadOnlyList<string> Warnings,
    int DifferentiatedCalls,
    int TotalCalls) : IDisposable
{
    public void Dispose() => Image.Dispose();
}
