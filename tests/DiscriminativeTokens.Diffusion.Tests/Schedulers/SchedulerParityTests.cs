using DiscriminativeTokens.Diffusion.Schedulers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Schedulers;

/// <summary>
/// Parity with diffusers 0.27.2 on the fixture's fixed model outputs. Timesteps must be identical (Euler's float32
/// values included); float tensors must agree within 1e-5·max(1, max|reference|) (max abs error over the whole stacked
/// tensor). Seen here: alphas_cumprod within one float32 ulp (libtorch 2.10's linspace/cumprod round differently from
/// torch 1.13's), trajectories within about 1e-6 relative after 30-39 steps.
/// </summary>
public sealed class SchedulerParityTests(ITestOutputHelper output)
{
    [Fact]
    public void AlphasCumprodMatch()
    {
        using var file = SchedulerReference.Open();
        using var expected = file.Read("alphas_cumprod");
        foreach (string key in new[] { "pndm", "ddim", "euler", "dpmpp2m" })
        {
            using var scheduler = SchedulerReference.Create(file, key);
            using var actual = tensor(scheduler.AlphasCumprod.ToArray());
            var (error, tolerance) = SchedulerReference.Compare(actual, expected);
            output.WriteLine($"{key} alphas_cumprod: max abs error {error:E2} (tolerance {tolerance:E1})");
            Assert.True(error <= tolerance, $"{key} alphas_cumprod error {error}");
        }
    }

    [Theory]
    [InlineData("pndm", 10)]
    [InlineData("pndm", 30)]
    [InlineData("pndm_prk", 10)]
    [InlineData("pndm_prk", 30)]
    [InlineData("ddim", 10)]
    [InlineData("ddim", 30)]
    [InlineData("euler", 10)]
    [InlineData("euler", 30)]
    [InlineData("dpmpp2m", 10)]
    [InlineData("dpmpp2m", 30)]
    public void TrajectoryMatchesDiffusers(string key, int steps)
    {
        using var scope = NewDisposeScope();
        using var file = SchedulerReference.Open();
        string prefix = $"{key}/n{steps}/";
        using var scheduler = SchedulerReference.Create(file, key);
        scheduler.SetTimesteps(steps, CPU);

        // Timesteps: same values and dtype as upstream, exactly.
        Tensor expectedTimesteps = file.Read(prefix + "timesteps");
        Assert.Equal(expectedTimesteps.dtype, scheduler.TimestepDType);
        double[] expectedValues = expectedTimesteps.to(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal(expectedValues, scheduler.Timesteps.ToArray());
        Assert.True(scheduler.TimestepsTensor().equal(expectedTimesteps).all().item<bool>());
        Assert.Equal(expectedValues.Length, scheduler.ModelCallsPerRun);

        double expectedSigma = file.Read(prefix + "init_noise_sigma").item<float>();
        double sigmaError = Math.Abs(scheduler.InitNoiseSigma - expectedSigma);
        Assert.True(sigmaError <= 1e-5 * Math.Max(1, Math.Abs(expectedSigma)), $"init_noise_sigma error {sigmaError}");

        if (file.Contains(prefix + "sigmas"))
        {
            IReadOnlyList<double> sigmas = scheduler switch
            {
                EulerDiscreteScheduler euler => euler.Sigmas,
                DpmSolverMultistepScheduler dpm => dpm.Sigmas,
                _ => throw new InvalidOperationException("reference has sigmas for a scheduler without them"),
            };
            var (error, tolerance) = SchedulerReference.Compare(tensor(sigmas.ToArray()), file.Read(prefix + "sigmas"));
            output.WriteLine($"{prefix}sigmas: max abs error {error:E2} (tolerance {tolerance:E1})");
            Assert.True(error <= tolerance, $"sigmas error {error}");
        }

        var (scaled, samples) = SchedulerReference.Run(scheduler, file.Read("initial_latent"), file.Read("model_outputs"));
        foreach (var (name, actual) in new[] { ("scaled_model_inputs", scaled), ("prev_samples", samples) })
        {
            var (error, tolerance) = SchedulerReference.Compare(actual, file.Read(prefix + name));
            output.WriteLine($"{prefix}{name}: max abs error {error:E2} (tolerance {tolerance:E1})");
            Assert.True(error <= tolerance, $"{prefix}{name} max abs error {error} > {tolerance}");
        }
        output.WriteLine($"{prefix}init_noise_sigma: abs error {sigmaError:E2}");
    }
}
