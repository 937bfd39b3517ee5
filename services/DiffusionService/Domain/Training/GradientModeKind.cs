namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>Which family of UNet calls a <see cref="GradientMode"/> differentiates.</summary>
public enum GradientModeKind
{
    /// <summary>The DCT reference: every call from index steps − 1 of the scheduler's timestep list on.</summary>
    Reference,

    /// <summary>The last K calls.</summary>
    LastK,

    /// <summary>Every call (full backpropagation through the sampler).</summary>
    Full,
}
