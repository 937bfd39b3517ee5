using System.Text.Json.Nodes;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// Builds a scheduler from a diffusers <c>scheduler_config.json</c>, optionally as another scheduler than the one the
/// config was written for and with explicit option overrides — the way diffusers' <c>OtherScheduler.from_config(
/// pipe.scheduler.config)</c> keeps the model's betas, num_train_timesteps, prediction_type, steps_offset and
/// timestep_spacing while keys the target class does not know are ignored and keys the config lacks take the target
/// class's defaults.
/// <para>Names (case-insensitive): "pndm", "ddim", "euler", "dpmpp2m" (DPM-Solver++ 2M: sets algorithm_type
/// "dpmsolver++" and solver_order 2 unless the explicit options say otherwise) and the upstream class names
/// PNDMScheduler, DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler.</para>
/// <para>Explicit options use the diffusers config keys (plus "eta" for DDIM); unlike config keys, an explicit option
/// the chosen scheduler does not read is an error, so a misspelt request does not go unnoticed.</para>
/// </summary>
public static class SchedulerFactory
{
    /// <summary>The short names a request may use.</summary>
    public static IReadOnlyList<string> ShortNames { get; } = ["pndm", "ddim", "euler", "dpmpp2m"];

    public static Scheduler FromConfigFile(string path, string? schedulerName = null,
                                           IReadOnlyDictionary<string, JsonNode?>? options = null) =>
        FromConfig(SchedulerConfig.Load(path), schedulerName, options);

    public static Scheduler FromConfig(string json, string? schedulerName = null,
                                       IReadOnlyDictionary<string, JsonNode?>? options = null) =>
        FromConfig(SchedulerConfig.Parse(json), schedulerName, options);

    public static Scheduler FromConfig(SchedulerConfig config, string? schedulerName = null,
                                       IReadOnlyDictionary<string, JsonNode?>? options = null)
    {
        string name = schedulerName ?? config.ClassName
            ?? throw new SchedulerConfigException("_class_name", null,
                $"{config.Source} names no scheduler class (_class_name) and no scheduler name was given.");

        var implied = new Dictionary<string, JsonNode?>();
        Func<SchedulerConfig, Scheduler> build;
        switch (name.Trim().ToLowerInvariant())
        {
            case "pndm" or "pndmscheduler":
                build = c => new PndmScheduler(PndmOptions.Read(c));
                break;
            case "ddim" or "ddimscheduler":
                build = c => new DdimScheduler(DdimOptions.Read(c));
                break;
            case "euler" or "eulerdiscrete" or "eulerdiscretescheduler":
                build = c => new EulerDiscreteScheduler(EulerDiscreteOptions.Read(c));
                break;
            case "dpmpp2m":
                implied["algorithm_type"] = "dpmsolver++";
                implied["solver_order"] = 2;
                build = c => new DpmSolverMultistepScheduler(DpmSolverMultistepOptions.Read(c));
                break;
            case "dpmsolvermultistepscheduler":
                build = c => new DpmSolverMultistepScheduler(DpmSolverMultistepOptions.Read(c));
                break;
            default:
                throw new SchedulerConfigException(schedulerName is null ? "_class_name" : "scheduler", name,
                    $"Unknown scheduler '{name}'{(schedulerName is null ? $" in {config.Source}" : "")}. Known: " +
                    $"{string.Join(", ", ShortNames)}, PNDMScheduler, DDIMScheduler, EulerDiscreteScheduler, " +
                    "DPMSolverMultistepScheduler.");
        }

        var explicitOptions = options ?? new Dictionary<string, JsonNode?>();
        SchedulerConfig resolved = config.With(implied).With(explicitOptions);
        Scheduler scheduler = build(resolved);
        foreach (string key in explicitOptions.Keys)
            if (!resolved.WasRead(key))
                throw new SchedulerConfigException(key, explicitOptions[key]?.ToJsonString(),
                    $"Option '{key}' is not a setting of {scheduler.ClassName}.");
        return scheduler;
    }
}
