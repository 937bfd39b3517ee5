using System.Text.Json.Nodes;
using DiscriminativeTokens.Diffusion.Schedulers;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Schedulers;

/// <summary>
/// tests/data/sd-tiny/reference/schedulers.safetensors (diffusers 0.27.2): per scheduler and step count the timesteps,
/// init_noise_sigma, scale_model_input results and step results for fixed model outputs; metadata "configs" holds each
/// scheduler's resolved config.
/// </summary>
internal static class SchedulerReference
{
    public static SafetensorsFile Open() => new(RepositoryPaths.SdTinyReference("schedulers.safetensors"));

    /// <summary>The resolved upstream config of a reference entry ("pndm", "pndm_prk", ...) and its class name.</summary>
    public static (string Json, string ClassName) Config(SafetensorsFile file, string key)
    {
        var configs = JsonNode.Parse(file.Metadata["configs"].Replace("-Infinity", "\"-Infinity\""))!.AsObject();
        var config = configs[key]!.AsObject();
        return (config.ToJsonString(), config["class"]!.GetValue<string>());
    }

    public static Scheduler Create(SafetensorsFile file, string key)
    {
        var (json, className) = Config(file, key);
        return SchedulerFactory.FromConfig(json, className);
    }

    /// <summary>
    /// One sampling run as the reference was made: x = initial_latent·init_noise_sigma, then for each step the scaled
    /// model input and x = Step(model_outputs[i], i, x). Returns (scaled inputs, samples after each step), stacked.
    /// </summary>
    public static (Tensor ScaledInputs, Tensor Samples) Run(Scheduler scheduler, Tensor initialLatent, Tensor modelOutputs)
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

    /// <summary>Max abs error and the tolerance 1e-5·max(1, max|reference|) for a float comparison.</summary>
    public static (double Error, double Tolerance) Compare(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.shape, actual.shape);
        double error = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        double scale = Math.Max(1.0, expected.abs().max().item<float>());
        return (error, 1e-5 * scale);
    }
}
