namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>Settings of <see cref="DdimScheduler"/> (diffusers DDIMScheduler; defaults as its constructor).</summary>
public sealed record DdimOptions : SchedulerOptions
{
    public override string ClassName => "DDIMScheduler";

    /// <summary><c>clip_sample</c>: clamp the predicted x0 to ±<see cref="ClipSampleRange"/>. Upstream default true.</summary>
    public bool ClipSample { get; init; } = true;

    /// <summary><c>clip_sample_range</c>.</summary>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary><c>set_alpha_to_one</c>: alpha_bar before timestep 0 is 1, else alpha_bar[0]. Upstream default true.</summary>
    public bool SetAlphaToOne { get; init; } = true;

    /// <summary>
    /// <c>eta</c> (not a diffusers config key: upstream passes it to every step call): weight of the fresh noise; 0 is
    /// deterministic DDIM, 1 is DDPM-like.
    /// </summary>
    public double Eta { get; init; }

    public static DdimOptions Read(SchedulerConfig config)
    {
        var defaults = new DdimOptions();
        if (config.Bool("thresholding", false))
            throw config.Unsupported("thresholding", true, "dynamic thresholding is not implemented");
        // Only meaningful with thresholding; read so that explicit options naming them are accepted.
        config.Double("dynamic_thresholding_ratio", 0.995);
        config.Double("sample_max_value", 1.0);
        return ReadShared(config, defaults, [PredictionType.Epsilon, PredictionType.VPrediction, PredictionType.Sample]) with
        {
            ClipSample = config.Bool("clip_sample", defaults.ClipSample),
            ClipSampleRange = config.Double("clip_sample_range", defaults.ClipSampleRange),
            SetAlphaToOne = config.Bool("set_alpha_to_one", defaults.SetAlphaToOne),
            Eta = config.Double("eta", defaults.Eta),
        };
    }

    internal override void Validate()
    {
        base.Validate();
        if (!(Eta >= 0))
            throw Bad("eta", Eta, "must be 0 or positive");
        if (ClipSample && !(ClipSampleRange > 0))
            throw Bad("clip_sample_range", ClipSampleRange, "must be positive");
    }
}
