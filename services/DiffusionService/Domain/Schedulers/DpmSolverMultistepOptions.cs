namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// Settings of <see cref="DpmSolverMultistepScheduler"/> (diffusers DPMSolverMultistepScheduler; defaults as its
/// constructor, which are DPM-Solver++(2M): "dpmsolver++", order 2, midpoint, lower_order_final, final sigma 0).
/// </summary>
public sealed record DpmSolverMultistepOptions : SchedulerOptions
{
    public override string ClassName => "DPMSolverMultistepScheduler";

    public DpmSolverMultistepOptions()
    {
        TimestepSpacing = TimestepSpacing.Linspace;
    }

    /// <summary><c>solver_order</c>: 1 (DDIM-like) or 2.</summary>
    public int SolverOrder { get; init; } = 2;

    /// <summary><c>solver_type</c>: how the second-order term is formed.</summary>
    public DpmSolverType SolverType { get; init; } = DpmSolverType.Midpoint;

    /// <summary><c>lower_order_final</c>: first-order last step when there are fewer than 15 steps.</summary>
    public bool LowerOrderFinal { get; init; } = true;

    /// <summary><c>euler_at_final</c>: always make the last step first-order.</summary>
    public bool EulerAtFinal { get; init; }

    /// <summary><c>final_sigmas_type</c>: "zero" (end at sigma 0, default) or "sigma_min".</summary>
    public bool FinalSigmaZero { get; init; } = true;

    /// <summary><c>lambda_min_clipped</c>: skip the timesteps whose log-SNR lies below it (default −inf: none).</summary>
    public double LambdaMinClipped { get; init; } = double.NegativeInfinity;

    public static DpmSolverMultistepOptions Read(SchedulerConfig config)
    {
        var defaults = new DpmSolverMultistepOptions();
        string algorithm = config.String("algorithm_type", "dpmsolver++")!;
        if (algorithm != "dpmsolver++")
            throw config.Unsupported("algorithm_type", algorithm, "only \"dpmsolver++\" is implemented");
        if (config.Bool("thresholding", false))
            throw config.Unsupported("thresholding", true, "dynamic thresholding is not implemented");
        config.Double("dynamic_thresholding_ratio", 0.995);
        config.Double("sample_max_value", 1.0);
        if (config.Bool("use_karras_sigmas", false))
            throw config.Unsupported("use_karras_sigmas", true, "Karras sigmas are not implemented");
        if (config.Bool("use_lu_lambdas", false))
            throw config.Unsupported("use_lu_lambdas", true, "Lu lambdas are not implemented");
        if (config.String("variance_type", null) is { } variance)
            throw config.Unsupported("variance_type", variance, "learned variances are not implemented; use null");
        int order = config.Int("solver_order", defaults.SolverOrder);
        if (order is not (1 or 2))
            throw config.Unsupported("solver_order", order, "orders 1 and 2 are implemented");
        string finalSigmas = config.String("final_sigmas_type", "zero")!;
        if (finalSigmas is not ("zero" or "sigma_min"))
            throw config.Unsupported("final_sigmas_type", finalSigmas, "supported: zero, sigma_min");

        return ReadShared(config, defaults, [PredictionType.Epsilon, PredictionType.VPrediction, PredictionType.Sample]) with
        {
            SolverOrder = order,
            SolverType = config.Choice("solver_type", defaults.SolverType, new Dictionary<string, DpmSolverType>
            {
                ["midpoint"] = DpmSolverType.Midpoint,
                ["heun"] = DpmSolverType.Heun,
                // Upstream maps the solver types of other multistep schedulers to midpoint.
                ["logrho"] = DpmSolverType.Midpoint,
                ["bh1"] = DpmSolverType.Midpoint,
                ["bh2"] = DpmSolverType.Midpoint,
            }),
            LowerOrderFinal = config.Bool("lower_order_final", defaults.LowerOrderFinal),
            EulerAtFinal = config.Bool("euler_at_final", defaults.EulerAtFinal),
            FinalSigmaZero = finalSigmas == "zero",
            LambdaMinClipped = config.Double("lambda_min_clipped", defaults.LambdaMinClipped),
        };
    }
}
