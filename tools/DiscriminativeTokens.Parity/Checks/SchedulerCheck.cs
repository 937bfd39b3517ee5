using System.Text.Json;
using System.Text.Json.Nodes;
using DiscriminativeTokens.Diffusion.Schedulers;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>
/// Scheduler trajectories from reference/schedulers.safetensors: each scheduler is built from the resolved upstream
/// config recorded in the file's metadata and driven with the file's fixed model outputs.
/// </summary>
public sealed class SchedulerCheck : ParityCheck
{
    private static readonly string[] Keys = ["pndm", "pndm_prk", "ddim", "euler", "dpmpp2m"];
    private static readonly int[] StepCounts = [10, 30];

    public override string Component => "schedulers";

    public override string Description =>
        "alphas_cumprod, and for pndm, pndm_prk, ddim, euler, dpmpp2m with 10 and 30 steps: timesteps (exact), " +
        "init_noise_sigma, scaled_model_inputs, prev_samples, sigmas";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("schedulers.safetensors");
        JsonObject configs = ReadConfigs(file);

        foreach (string key in Keys)
        {
            // One alphas_cumprod reference; every scheduler derives its own from the same betas.
            yield return Compare($"alphas_cumprod ({key})", Tolerance.Scheduler, () => file.Read("alphas_cumprod"),
                                 () => { using var s = Create(file, configs, key); return tensor(s.AlphasCumprod.ToArray()); });

            foreach (int steps in StepCounts)
            {
                string prefix = $"{key}/n{steps}/";
                using Scheduler scheduler = Create(file, configs, key);
                scheduler.SetTimesteps(steps, CPU);
                yield return Compare(file, prefix + "timesteps", Tolerance.Exact, () => scheduler.TimestepsTensor());
                yield return Compare(file, prefix + "init_noise_sigma", Tolerance.Scheduler,
                                     () => tensor(new[] { scheduler.InitNoiseSigma }));
                if (file.Contains(prefix + "sigmas"))
                    yield return Compare(file, prefix + "sigmas", Tolerance.Scheduler, () => tensor(SigmasOf(scheduler).ToArray()));

                foreach (var row in CompareTogether(file, () =>
                         {
                             var (scaled, samples) = Trajectory(scheduler, file.Read("initial_latent"), file.Read("model_outputs"));
                             return [(prefix + "scaled_model_inputs", Tolerance.Scheduler, scaled), (prefix + "prev_samples", Tolerance.Scheduler, samples)];
                         }))
                    yield return row;
            }
        }
    }

    /// <summary>
    /// x = initial_latent · init_noise_sigma; per step the scaled model input and x = step(model_outputs[i], i, x).
    /// Returns both, stacked over the steps.
    /// </summary>
    private static (Tensor ScaledInputs, Tensor Samples) Trajectory(Scheduler scheduler, Tensor initialLatent, Tensor modelOutputs)
    {
        var scaled = new List<Tensor>();
        var samples = new List<Tensor>();
        Tensor x = initialLatent * scheduler.InitNoiseSigma;
        for (int i = 0; i < scheduler.Timesteps.Count; i++)
        {
            scaled.Add(scheduler.ScaleModelInput(x, i));
            x = scheduler.Step(modelOutputs[i], i, x);
            samples.Add(x);
        }
        return (stack(scaled), stack(samples));
    }

    private static IReadOnlyList<double> SigmasOf(Scheduler scheduler) => scheduler switch
    {
        EulerDiscreteScheduler euler => euler.Sigmas,
        DpmSolverMultistepScheduler dpm => dpm.Sigmas,
        _ => throw new InvalidOperationException($"the reference has sigmas for {scheduler.ClassName}, which has none"),
    };

    private static JsonObject ReadConfigs(ReferenceFile file)
    {
        // Python's json writes -Infinity bare (DPM-Solver's lambda_min_clipped); as a string the config reader takes it.
        string json = file.Metadata("configs").Replace("-Infinity", "\"-Infinity\"");
        try
        {
            return JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ParityLoadException($"{file.Path}: metadata 'configs' is not a JSON object ({e.Message}).", e);
        }
    }

    private static Scheduler Create(ReferenceFile file, JsonObject configs, string key)
    {
        if (configs[key] is not JsonObject config || config["class"]?.GetValue<string>() is not { } className)
            throw new ParityLoadException($"{file.Path}: metadata 'configs' has no config with a 'class' for '{key}'.");
        return SchedulerFactory.FromConfig(config.ToJsonString(), className);
    }
}
