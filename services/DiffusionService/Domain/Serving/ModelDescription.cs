namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>What a client needs to know to drive the loaded model (mirrors the contract's ModelInfo).</summary>
public sealed record ModelDescription(
    string ModelId,
    int TextHiddenSize,
    int SampleSize,
    int VaeScaleFactor,
    int LatentChannels,
    string Scheduler,
    IReadOnlyList<string> AvailableSchedulers,
    string PredictionType,
    int MaxTokenLength,
    string TextEncoderSha256,
    string Device);

/// <summary>What the service is busy with right now.</summary>
public readonly record struct ServiceLoad(int GradientSessions, int Generations, int OpenForwards);
