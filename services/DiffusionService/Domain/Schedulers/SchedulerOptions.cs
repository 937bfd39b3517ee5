namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// Settings every scheduler shares: the training noise schedule, what the model predicts and how inference timesteps
/// are spaced. Defaults are diffusers' constructor defaults; each scheduler's options record sets its own where they
/// differ. Config keys are the diffusers names given on each property.
/// </summary>
public abstract record SchedulerOptions
{
    private static readonly IReadOnlyDictionary<string, BetaSchedule> BetaSchedules = new Dictionary<string, BetaSchedule>
    {
        ["linear"] = BetaSchedule.Linear,
        ["scaled_linear"] = BetaSchedule.ScaledLinear,
    };

    internal static readonly IReadOnlyDictionary<string, TimestepSpacing> Spacings = new Dictionary<string, TimestepSpacing>
    {
        ["leading"] = TimestepSpacing.Leading,
        ["trailing"] = TimestepSpacing.Trailing,
        ["linspace"] = TimestepSpacing.Linspace,
    };

    /// <summary><c>num_train_timesteps</c>.</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary><c>beta_start</c>.</summary>
    public double BetaStart { get; init; } = 0.0001;

    /// <summary><c>beta_end</c>.</summary>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary><c>beta_schedule</c>; ignored when <see cref="TrainedBetas"/> is given, as upstream.</summary>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary><c>trained_betas</c>: explicit betas, one per training timestep.</summary>
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary><c>prediction_type</c>.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary><c>timestep_spacing</c>.</summary>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Leading;

    /// <summary><c>steps_offset</c>: added to "leading" timesteps (SD uses 1).</summary>
    public int StepsOffset { get; init; }

    /// <summary>The diffusers class these options configure.</summary>
    public abstract string ClassName { get; }

    /// <summary>Reads the shared keys over <paramref name="defaults"/> (an instance of the concrete options type).</summary>
    protected static T ReadShared<T>(SchedulerConfig config, T defaults, IReadOnlyCollection<PredictionType> supportedPredictions)
        where T : SchedulerOptions
    {
        double[]? trainedBetas = config.DoubleArray("trained_betas");
        // Upstream only looks at beta_schedule when no trained betas are given.
        string? scheduleName = config.String("beta_schedule", null);
        BetaSchedule schedule = defaults.BetaSchedule;
        if (trainedBetas is null && scheduleName is not null)
            schedule = BetaSchedules.TryGetValue(scheduleName, out var known)
                ? known
                : throw config.Unsupported("beta_schedule", scheduleName,
                    "supported: linear, scaled_linear, or explicit trained_betas");

        var predictions = new Dictionary<string, PredictionType>
        {
            ["epsilon"] = PredictionType.Epsilon,
            ["v_prediction"] = PredictionType.VPrediction,
            ["sample"] = PredictionType.Sample,
        }.Where(p => supportedPredictions.Contains(p.Value)).ToDictionary(p => p.Key, p => p.Value);

        if (config.Bool("rescale_betas_zero_snr", false))
            throw config.Unsupported("rescale_betas_zero_snr", true, "zero-terminal-SNR rescaling is not implemented");

        SchedulerOptions shared = defaults;
        SchedulerOptions read = shared with
        {
            NumTrainTimesteps = config.Int("num_train_timesteps", defaults.NumTrainTimesteps),
            BetaStart = config.Double("beta_start", defaults.BetaStart),
            BetaEnd = config.Double("beta_end", defaults.BetaEnd),
            BetaSchedule = schedule,
            TrainedBetas = trainedBetas ?? defaults.TrainedBetas,
            PredictionType = config.Choice("prediction_type", defaults.PredictionType, predictions),
            TimestepSpacing = config.Choice("timestep_spacing", defaults.TimestepSpacing, Spacings),
            StepsOffset = config.Int("steps_offset", defaults.StepsOffset),
        };
        return (T)read;
    }

    /// <summary>Checks values no config reader can rule out alone; throws naming the field.</summary>
    internal virtual void Validate()
    {
        if (NumTrainTimesteps < 1)
            throw Bad("num_train_timesteps", NumTrainTimesteps, "must be at least 1");
        if (TrainedBetas is { } betas)
        {
            if (betas.Count != NumTrainTimesteps)
                throw Bad("trained_betas", $"[{betas.Count} values]", $"must hold num_train_timesteps = {NumTrainTimesteps} values");
            if (betas.Any(b => !(b > 0 && b < 1)))
                throw Bad("trained_betas", "[...]", "every beta must lie in (0, 1)");
        }
        else if (!(BetaStart > 0 && BetaEnd < 1 && BetaStart <= BetaEnd))
            throw Bad("beta_start", BetaStart, $"need 0 < beta_start <= beta_end < 1 (beta_end = {BetaEnd})");
        if (StepsOffset < 0)
            throw Bad("steps_offset", StepsOffset, "must not be negative");
    }

    protected SchedulerConfigException Bad(string field, object value, string why) =>
        new(field, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
            $"{ClassName}: {field} = {Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)} is not valid ({why}).");
}
