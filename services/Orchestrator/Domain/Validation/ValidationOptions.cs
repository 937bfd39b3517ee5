namespace DiscriminativeTokens.Orchestration.Validation;

/// <summary>Limits a request is checked against before a job is created.</summary>
public sealed record ValidationOptions
{
    /// <summary>How long the services may take to answer the start-time checks before they count as unreachable.</summary>
    public TimeSpan ServiceProbeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Classifier-free guidance range; matches what the diffusion service accepts (1 turns guidance off).</summary>
    public double MinGuidanceScale { get; init; } = 1.0;
    public double MaxGuidanceScale { get; init; } = 30.0;

    public int MaxMicroStepsPerEpoch { get; init; } = 1000;
    public int MaxEpochs { get; init; } = 100_000;
    public int MaxImagesPerPrompt { get; init; } = 1000;
}
