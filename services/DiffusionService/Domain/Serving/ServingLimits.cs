namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>What the service accepts and how much it does at once (configuration section "Diffusion").</summary>
public sealed record ServingLimits
{
    /// <summary>Largest accepted number of scheduler steps.</summary>
    public int MaxSteps { get; init; } = 250;

    /// <summary>Largest accepted image width or height in pixels.</summary>
    public int MaxImageSize { get; init; } = 1024;

    /// <summary>Largest number of images one Generate call may ask for.</summary>
    public int MaxImagesPerRequest { get; init; } = 8;

    /// <summary>Gradient sessions plus running generations at once; more are refused with ResourceExhausted.</summary>
    public int MaxConcurrent { get; init; } = 4;

    /// <summary>Forwards one session may hold (made, not yet backpropagated or released).</summary>
    public int MaxOpenForwardsPerSession { get; init; } = 8;

    /// <summary>A session with no request and nothing computing for this long is released.</summary>
    public TimeSpan SessionIdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting when a value makes no sense.</summary>
    public ServingLimits Validated()
    {
        static void Positive(string name, int value)
        {
            if (value < 1)
                throw new ArgumentException($"Diffusion:{name} must be at least 1; it is {value}.");
        }

        Positive(nameof(MaxSteps), MaxSteps);
        Positive(nameof(MaxImageSize), MaxImageSize);
        Positive(nameof(MaxImagesPerRequest), MaxImagesPerRequest);
        Positive(nameof(MaxConcurrent), MaxConcurrent);
        Positive(nameof(MaxOpenForwardsPerSession), MaxOpenForwardsPerSession);
        if (SessionIdleTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"Diffusion:SessionIdleTimeout must be positive (e.g. 00:10:00); it is {SessionIdleTimeout}.");
        return this;
    }
}
