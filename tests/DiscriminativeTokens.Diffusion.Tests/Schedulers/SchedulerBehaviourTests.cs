using System.Text.Json.Nodes;
using DiscriminativeTokens.Diffusion.Schedulers;
using DiscriminativeTokens.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Schedulers;

/// <summary>Config handling, run state, scheduler switching and differentiability.</summary>
public sealed class SchedulerBehaviourTests
{
    private static readonly string ModelConfigPath = Path.Combine(RepositoryPaths.SdTiny, "scheduler", "scheduler_config.json");

    public static TheoryData<string> ReferenceKeys => new() { "pndm", "pndm_prk", "ddim", "euler", "dpmpp2m" };

    [Fact]
    public void UnsupportedBetaScheduleIsNamed()
    {
        string json = File.ReadAllText(ModelConfigPath).Replace("\"scaled_linear\"", "\"cosine_weird\"");
        var error = Assert.Throws<SchedulerConfigException>(() => SchedulerFactory.FromConfig(json));
        Assert.Equal("beta_schedule", error.Field);
        Assert.Contains("beta_schedule", error.Message);
        Assert.Contains("cosine_weird", error.Message);
    }

    [Fact]
    public void UnknownSchedulerNameIsNamed()
    {
        var error = Assert.Throws<SchedulerConfigException>(() => SchedulerFactory.FromConfigFile(ModelConfigPath, "heun_weird"));
        Assert.Contains("heun_weird", error.Message);

        string json = File.ReadAllText(ModelConfigPath).Replace("PNDMScheduler", "LMSWeirdScheduler");
        error = Assert.Throws<SchedulerConfigException>(() => SchedulerFactory.FromConfig(json));
        Assert.Equal("_class_name", error.Field);
        Assert.Contains("LMSWeirdScheduler", error.Message);
    }

    [Theory]
    [InlineData("pndm", "prediction_type", "\"x0_weird\"")]
    [InlineData("pndm", "prediction_type", "\"sample\"")]          // PNDM upstream has no sample prediction
    [InlineData("ddim", "timestep_spacing", "\"sideways\"")]
    [InlineData("ddim", "thresholding", "true")]
    [InlineData("euler", "use_karras_sigmas", "true")]
    [InlineData("euler", "num_train_timesteps", "\"many\"")]
    [InlineData("dpmpp2m", "algorithm_type", "\"sde-dpmsolver++\"")]
    [InlineData("dpmpp2m", "solver_order", "3")]
    [InlineData("dpmpp2m", "steps_offset", "-1")]
    public void UnsupportedValuesAreNamed(string scheduler, string field, string value)
    {
        var options = new Dictionary<string, JsonNode?> { [field] = JsonNode.Parse(value) };
        var error = Assert.Throws<SchedulerConfigException>(() => SchedulerFactory.FromConfigFile(ModelConfigPath, scheduler, options));
        Assert.Equal(field, error.Field);
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public void MisspeltExplicitOptionIsNamed()
    {
        var options = new Dictionary<string, JsonNode?> { ["skip_prk_step"] = false };
        var error = Assert.Throws<SchedulerConfigException>(() => SchedulerFactory.FromConfigFile(ModelConfigPath, "pndm", options));
        Assert.Contains("skip_prk_step", error.Message);
    }

    [Fact]
    public void PythonNonFiniteNumbersAreRead()
    {
        const string json = """{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity, "variance_type": null}""";
        var scheduler = (DpmSolverMultistepScheduler)SchedulerFactory.FromConfig(json);
        Assert.True(double.IsNegativeInfinity(scheduler.DpmOptions.LambdaMinClipped));
    }

    [Fact]
    public void ModelConfigGivesPlmsWithRepeatedTimestep()
    {
        using var scheduler = SchedulerFactory.FromConfigFile(ModelConfigPath);
        var pndm = Assert.IsType<PndmScheduler>(scheduler);
        Assert.True(pndm.PndmOptions.SkipPrkSteps);
        scheduler.SetTimesteps(30);
        Assert.Equal(31, scheduler.ModelCallsPerRun);
        // 1000 // 30 = 33: 29·33 + 1 = 958 first, then 925 twice.
        Assert.Equal(new double[] { 958, 925, 925, 892 }, scheduler.Timesteps.Take(4));
        Assert.Equal(1, scheduler.Timesteps[^1]);

        using var prk = SchedulerFactory.FromConfigFile(ModelConfigPath, options: new Dictionary<string, JsonNode?> { ["skip_prk_steps"] = false });
        prk.SetTimesteps(30);
        Assert.Equal(39, prk.ModelCallsPerRun);
    }

    [Fact]
    public void SwitchingSchedulerKeepsTheModelsSettings()
    {
        using var euler = (EulerDiscreteScheduler)SchedulerFactory.FromConfigFile(ModelConfigPath, "euler");
        Assert.Equal(BetaSchedule.ScaledLinear, euler.Options.BetaSchedule);
        Assert.Equal(TimestepSpacing.Leading, euler.Options.TimestepSpacing);   // the model's, not Euler's default
        euler.SetTimesteps(10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 901.0 - 100 * i), euler.Timesteps);
        Assert.Equal(ScalarType.Float32, euler.TimestepDType);
        double sigmaMax = euler.Sigmas.Max();
        Assert.Equal(Math.Sqrt(sigmaMax * sigmaMax + 1), euler.InitNoiseSigma, 12);

        using var ddim = (DdimScheduler)SchedulerFactory.FromConfigFile(ModelConfigPath, "DDIMScheduler");
        Assert.False(ddim.DdimOptions.SetAlphaToOne);   // from the model config
        Assert.True(ddim.DdimOptions.ClipSample);       // absent there: DDIMScheduler's own default, as from_config

        using var dpm = (DpmSolverMultistepScheduler)SchedulerFactory.FromConfigFile(ModelConfigPath, "dpmpp2m");
        Assert.Equal(2, dpm.DpmOptions.SolverOrder);
        dpm.SetTimesteps(30);
        // "leading" for DPM-Solver: multiples of 1000 // 31 = 32, highest first, without 0, plus steps_offset.
        Assert.Equal(961, dpm.Timesteps[0]);
        Assert.Equal(33, dpm.Timesteps[^1]);
        Assert.Equal(30, dpm.ModelCallsPerRun);
    }

    [Fact]
    public void ExplicitOptionsOverrideTheModelConfig()
    {
        var options = new Dictionary<string, JsonNode?> { ["timestep_spacing"] = "trailing", ["eta"] = 0.5, ["clip_sample"] = false };
        using var ddim = (DdimScheduler)SchedulerFactory.FromConfigFile(ModelConfigPath, "ddim", options);
        Assert.Equal(0.5, ddim.DdimOptions.Eta);
        ddim.SetTimesteps(10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 999.0 - 100 * i), ddim.Timesteps);

        // eta > 0 draws noise from the generator: same seed, same result.
        using var sample = ones(1, 4, 8, 8);
        using var output = zeros(1, 4, 8, 8);
        using var a = ddim.Step(output, 0, sample, new Generator(7));
        using var b = ddim.Clone().Step(output, 0, sample, new Generator(7));
        Assert.True(a.equal(b).all().item<bool>());
    }

    [Theory]
    [MemberData(nameof(ReferenceKeys))]
    public void ConsecutiveRunsAreIdentical(string key)
    {
        using var scope = NewDisposeScope();
        using var file = SchedulerReference.Open();
        Tensor initial = file.Read("initial_latent"), outputs = file.Read("model_outputs");
        using var scheduler = SchedulerReference.Create(file, key);
        scheduler.SetTimesteps(10);
        var first = SchedulerReference.Run(scheduler, initial, outputs).Samples;

        // An abandoned run must leave nothing behind either.
        Tensor x = initial * scheduler.InitNoiseSigma;
        for (int i = 0; i < 5; i++) x = scheduler.Step(outputs[i] * 2, i, x);

        var second = SchedulerReference.Run(scheduler, initial, outputs).Samples;
        Assert.True(first.equal(second).all().item<bool>(), $"{key}: second run differs from the first");

        scheduler.SetTimesteps(10);
        var third = SchedulerReference.Run(scheduler, initial, outputs).Samples;
        Assert.True(first.equal(third).all().item<bool>(), $"{key}: run after SetTimesteps differs");
    }

    [Theory]
    [MemberData(nameof(ReferenceKeys))]
    public void ClonesRunIndependentlyAndSurviveCallerScopes(string key)
    {
        using var scope = NewDisposeScope();
        using var file = SchedulerReference.Open();
        Tensor initial = file.Read("initial_latent"), outputs = file.Read("model_outputs");
        using var scheduler = SchedulerReference.Create(file, key);
        scheduler.SetTimesteps(10);
        Tensor expected = file.Read($"{key}/n10/prev_samples");

        // Two runs interleaved step by step; each step's model output lives only in a scope disposed right after,
        // so history must not depend on the caller's tensors staying alive.
        using var other = scheduler.Clone();
        Tensor a = initial * scheduler.InitNoiseSigma, b = initial * other.InitNoiseSigma;
        for (int i = 0; i < scheduler.Timesteps.Count; i++)
        {
            using (var step = NewDisposeScope())
            {
                a = scheduler.Step(outputs[i].clone(), i, a).MoveToOuterDisposeScope();
                b = other.Step(outputs[i].clone(), i, b).MoveToOuterDisposeScope();
            }
            var (error, tolerance) = SchedulerReference.Compare(a, expected[i]);
            Assert.True(error <= tolerance, $"{key} step {i}: error {error}");
            Assert.True(a.equal(b).all().item<bool>(), $"{key} step {i}: clones diverge");
        }
    }

    [Fact]
    public void StepsOutOfOrderAreRefused()
    {
        using var scheduler = SchedulerFactory.FromConfigFile(ModelConfigPath);
        scheduler.SetTimesteps(10);
        using var x = zeros(1, 4, 2, 2);
        using var y = scheduler.Step(x, 0, x);
        Assert.Throws<InvalidOperationException>(() => scheduler.Step(x, 2, x));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Step(x, 11, x));
        scheduler.Reset();
        using var z = scheduler.Step(x, 4, x);   // a run may start part-way after Reset
    }

    /// <summary>
    /// Gradients reach the last two model outputs and the sample entering them, and agree with finite differences
    /// (the last steps are affine in those inputs, so a difference quotient is exact up to rounding).
    /// </summary>
    [Theory]
    [MemberData(nameof(ReferenceKeys))]
    public void StepIsDifferentiable(string key)
    {
        using var scope = NewDisposeScope();
        using var file = SchedulerReference.Open();
        Tensor initial = file.Read("initial_latent"), outputs = file.Read("model_outputs");
        using var scheduler = SchedulerReference.Create(file, key);
        scheduler.SetTimesteps(10);
        int n = scheduler.Timesteps.Count;

        Tensor Run(Func<int, Tensor, Tensor> sampleHook, Func<int, Tensor, Tensor> outputHook)
        {
            Tensor x = initial * scheduler.InitNoiseSigma;
            for (int i = 0; i < n; i++)
            {
                x = sampleHook(i, x);
                x = scheduler.Step(outputHook(i, outputs[i]), i, x);
            }
            return x;
        }

        var leaves = new Dictionary<string, Tensor>();
        Tensor final = Run((i, x) => i == n - 2 ? Leaf("sample", x) : x,
                           (i, m) => i >= n - 2 ? Leaf($"output{i}", m) : m);
        final.sum().backward();

        var generator = new Generator(3);
        foreach (var (name, leaf) in leaves)
        {
            Tensor grad = leaf.grad ?? throw new Xunit.Sdk.XunitException($"{key}: no gradient for {name}");
            Assert.True(grad.isfinite().all().item<bool>(), $"{key}: {name} gradient not finite");
            Assert.True(grad.abs().max().item<float>() > 0, $"{key}: {name} gradient is zero");

            Tensor delta = randn(leaf.shape, generator: generator) * 1e-2;
            Tensor perturbed;
            using (no_grad())
            {
                perturbed = name == "sample"
                    ? Run((i, x) => i == n - 2 ? x + delta : x, (_, m) => m)
                    : Run((_, x) => x, (i, m) => $"output{i}" == name ? m + delta : m);
            }
            double finiteDifference = (perturbed - final.detach()).to(ScalarType.Float64).sum().item<double>();
            double predicted = (grad * delta).to(ScalarType.Float64).sum().item<double>();
            Assert.True(Math.Abs(finiteDifference - predicted) <= 1e-3 * Math.Max(1e-3, Math.Abs(predicted)) + 1e-4,
                        $"{key} {name}: autograd {predicted} vs finite difference {finiteDifference}");
        }
        Assert.Equal(3, leaves.Count);

        Tensor Leaf(string name, Tensor value)
        {
            Tensor leaf = value.detach().clone().requires_grad_(true);
            leaves[name] = leaf;
            return leaf;
        }
    }

    /// <summary>
    /// The prediction-type branches agree: for a sample built from known x0 and noise, feeding the noise
    /// (epsilon), v or x0 itself (sample) must give the same first step.
    /// </summary>
    [Theory]
    [InlineData("pndm", "v_prediction")]
    [InlineData("ddim", "v_prediction")]
    [InlineData("ddim", "sample")]
    [InlineData("euler", "v_prediction")]
    [InlineData("euler", "sample")]
    [InlineData("dpmpp2m", "v_prediction")]
    [InlineData("dpmpp2m", "sample")]
    public void PredictionTypesAgree(string name, string predictionType)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        Tensor x0 = randn(new long[] { 1, 4, 8, 8 }, generator: generator);
        Tensor noise = randn(new long[] { 1, 4, 8, 8 }, generator: generator);
        var options = new Dictionary<string, JsonNode?> { ["clip_sample"] = false };
        if (name != "ddim") options.Clear();

        using var epsilonScheduler = SchedulerFactory.FromConfigFile(ModelConfigPath, name, options);
        options["prediction_type"] = predictionType;
        using var otherScheduler = SchedulerFactory.FromConfigFile(ModelConfigPath, name, options);
        epsilonScheduler.SetTimesteps(10);
        otherScheduler.SetTimesteps(10);

        // The model sees the variance-preserving x_t = sqrt(a)·x0 + sqrt(1−a)·noise; Euler's sample is x_t·sqrt(sigma²+1).
        double alpha = epsilonScheduler.AlphasCumprod[(int)Math.Round(epsilonScheduler.Timesteps[0])];
        if (epsilonScheduler is EulerDiscreteScheduler euler)
            alpha = 1 / (euler.Sigmas[0] * euler.Sigmas[0] + 1);
        Tensor modelInput = x0 * Math.Sqrt(alpha) + noise * Math.Sqrt(1 - alpha);
        Tensor sample = epsilonScheduler is EulerDiscreteScheduler ? modelInput / Math.Sqrt(alpha) : modelInput;
        Tensor other = predictionType == "sample" ? x0 : noise * Math.Sqrt(alpha) - x0 * Math.Sqrt(1 - alpha);

        Tensor expected = epsilonScheduler.Step(noise, 0, sample);
        Tensor actual = otherScheduler.Step(other, 0, sample);
        var (error, tolerance) = SchedulerReference.Compare(actual, expected);
        Assert.True(error <= tolerance, $"{name} {predictionType}: error {error}");
    }
}
