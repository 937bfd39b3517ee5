using DiscriminativeTokens.Orchestration.Training;
using Xunit.Abstractions;

namespace DiscriminativeTokens.Orchestration.Tests;

/// <summary>
/// The reference defaults (5 micro-steps, 30 PNDM steps, gradients through the reference's last calls, recompute
/// sessions) on sd-tiny at 32x32, with overlap off and on: the same token either way, and the seconds per micro-step
/// printed for the benchmark (not asserted: the machine is shared).
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class MicroStepTimingTests(TinyModels models, ITestOutputHelper output)
{
    [Fact]
    public async Task ReferenceDefaultsGiveTheSameTokenWithAndWithoutOverlap()
    {
        var settings = new TrainingSettings { ClassId = 4, ClassPromptName = "cat", ImageSize = 32, TargetAccuracy = 1.0, MaxEpochs = 2 };
        // Warm-up: the first passes through the model are slower (allocations, kernel choices).
        await TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, settings with { MaxEpochs = 1, MicroStepsPerEpoch = 2 });

        var off = await TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, settings with { Overlap = false });
        var on = await TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, settings with { Overlap = true });

        Assert.Equal(off.Outcome.BestToken, on.Outcome.BestToken);
        Assert.Equal(off.LastCheckpoint.Token, on.LastCheckpoint.Token);
        double perStepOff = off.Seconds / off.Observer.MicroSteps.Count, perStepOn = on.Seconds / on.Observer.MicroSteps.Count;
        output.WriteLine($"sd-tiny 32x32, 30 PNDM steps, Reference path, Recompute, in process, {Environment.ProcessorCount} cores: " +
                         $"{perStepOff:F3} s per micro-step with overlap off, {perStepOn:F3} s with overlap on " +
                         $"(ratio on/off {perStepOn / perStepOff:F2}; {off.Observer.MicroSteps.Count} micro-steps each)");
    }
}
