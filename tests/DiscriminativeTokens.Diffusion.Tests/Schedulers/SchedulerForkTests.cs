using DiscriminativeTokens.Diffusion.Schedulers;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Schedulers;

/// <summary>A fork taken part-way through a run continues it exactly, history included.</summary>
public sealed class SchedulerForkTests
{
    [Theory]
    [InlineData("pndm")]
    [InlineData("pndm_prk")]
    [InlineData("ddim")]
    [InlineData("euler")]
    [InlineData("dpmpp2m")]
    public void AForkContinuesTheRunExactly(string key)
    {
        using var scope = NewDisposeScope();
        using var file = SchedulerReference.Open();
        using var scheduler = SchedulerReference.Create(file, key);
        scheduler.SetTimesteps(10, CPU);
        var outputs = file.Read("model_outputs");
        int calls = scheduler.ModelCallsPerRun;
        foreach (int forkAt in new[] { 1, 2, 5, calls - 1 })
        {
            scheduler.Reset();
            var x = file.Read("initial_latent") * scheduler.InitNoiseSigma;
            Scheduler? fork = null;
            Tensor? atFork = null;
            for (int i = 0; i < calls; i++)
            {
                if (i == forkAt)
                {
                    fork = scheduler.Fork();
                    atFork = x;
                }
                x = scheduler.Step(outputs[i], i, x);
            }

            using (fork)
            {
                var y = atFork!;
                for (int i = forkAt; i < calls; i++)
                    y = fork!.Step(outputs[i], i, y);
                Assert.True(y.equal(x).all().item<bool>(), $"{key}: fork at {forkAt} diverges");
                Assert.Throws<InvalidOperationException>(() => fork!.Step(outputs[0], forkAt, y));
            }
        }
    }
}
