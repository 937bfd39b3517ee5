namespace DiscriminativeTokens.Orchestration.Backends;

/// <summary>What the orchestrator needs to know about a diffusion model to plan and check training.</summary>
public sealed record DiffusionModelInfo(
    string ModelId,
    int TextHiddenSize,
    int SampleSize,
    int VaeScaleFactor,
    int LatentChannels,
    string Scheduler,
    IReadOnlyList<string> AvailableSchedulers,
    int MaxTokenLength,
    string TextEncoderSha256,
    int MaxSteps,
    int MaxImageSize,
    string Device);
