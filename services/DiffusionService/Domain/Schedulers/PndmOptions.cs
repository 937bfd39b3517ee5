namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>Settings of <see cref="PndmScheduler"/> (diffusers PNDMScheduler; defaults as its constructor).</summary>
public sealed record PndmOptions : SchedulerOptions
{
    public override string ClassName => "PNDMScheduler";

    /// <summary><c>skip_prk_steps</c>: PLMS only (SD's setting) instead of the Runge-Kutta warm-up.</summary>
    public bool SkipPrkSteps { get; init; }

    /// <summary><c>set_alpha_to_one</c>: alpha_bar before timestep 0 is 1, else alpha_bar[0].</summary>
    public bool SetAlphaToOne { get; init; }

    public static PndmOptions Read(SchedulerConfig config)
    {
        var defaults = new PndmOptions();
        return ReadShared(config, defaults, [PredictionType.Epsilon, PredictionType.VPrediction]) with
        {
            SkipPrkSteps = config.Bool("skip_prk_steps", defaults.SkipPrkSteps),
            SetAlphaToOne = config.Bool("set_alpha_to_one", defaults.SetAlphaToOne),
        };
    }
}
