namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>Settings of <see cref="EulerDiscreteScheduler"/> (diffusers EulerDiscreteScheduler; defaults as its constructor).</summary>
public sealed record EulerDiscreteOptions : SchedulerOptions
{
    public override string ClassName => "EulerDiscreteScheduler";

    public EulerDiscreteOptions()
    {
        TimestepSpacing = TimestepSpacing.Linspace;
    }

    public static EulerDiscreteOptions Read(SchedulerConfig config)
    {
        var options = ReadShared(config, new EulerDiscreteOptions(),
                                 [PredictionType.Epsilon, PredictionType.VPrediction, PredictionType.Sample]);
        string interpolation = config.String("interpolation_type", "linear")!;
        if (interpolation != "linear")
            throw config.Unsupported("interpolation_type", interpolation, "only \"linear\" is implemented");
        if (config.Bool("use_karras_sigmas", false))
            throw config.Unsupported("use_karras_sigmas", true, "Karras sigmas are not implemented");
        // Only used by Karras sigmas upstream; read so that explicit options naming them are accepted.
        config.NullableDouble("sigma_min");
        config.NullableDouble("sigma_max");
        string timestepType = config.String("timestep_type", "discrete")!;
        if (timestepType != "discrete" && timestepType != "continuous")
            throw config.Unsupported("timestep_type", timestepType, "supported: discrete, continuous");
        // Upstream changes behaviour for "continuous" only together with v_prediction.
        if (timestepType == "continuous" && options.PredictionType == PredictionType.VPrediction)
            throw config.Unsupported("timestep_type", timestepType, "continuous timesteps with v_prediction are not implemented");
        return options;
    }
}
