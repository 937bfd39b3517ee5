using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Training;
using Xunit.Abstractions;

namespace DiscriminativeTokens.Orchestration.Tests;

/// <summary>The loop on sd-tiny and vit-tiny in process: learning, stop rules, resuming and overlapping exactly.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class TrainingLoopTests(TinyModels models, ITestOutputHelper output)
{
    [Fact]
    public async Task TheLossDecreasesEveryEpochWithAFixedSeed()
    {
        var settings = TrainingRuns.Small() with { MaxEpochs = 4 };
        var run = await TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, settings);
        var losses = run.Observer.Epochs.Select(e => e.Loss).ToArray();
        output.WriteLine("epoch losses: " + string.Join(" ", losses.Select(l => l.ToString("F7"))));

        // The loss is a deterministic function of the token (no noise between epochs), so any decrease is real; the
        // float32 loss resolves ~2e-7 at 2.1. vit-tiny's loss on these images spans only ~1e-3, hence the small margin.
        for (int i = 1; i < losses.Length; i++)
            Assert.True(losses[i] < losses[i - 1], $"epoch {i} loss {losses[i]:F7} is not below epoch {i - 1}'s {losses[i - 1]:F7}");
        Assert.True(losses[0] - losses[^1] > 1e-4, $"the loss fell only from {losses[0]:F7} to {losses[^1]:F7}");

        var outcome = run.Outcome;
        Assert.Equal(StopReason.MaxEpochs, outcome.Reason);
        Assert.Equal(4, outcome.Epochs);
        Assert.Equal(3, outcome.BestEpoch);
        Assert.Equal(losses[^1], outcome.BestLoss);
        // The kept token is the one the best epoch used, i.e. the token after the previous epoch's step.
        Assert.Equal(run.Observer.Checkpoints.Last().Token, outcome.BestToken);
        Assert.Equal(3, run.Observer.Checkpoints.Count);
        Assert.Equal([1, 2, 3], run.Observer.Checkpoints.Select(c => c.EpochsCompleted));
        Assert.Equal([1L, 2L, 3L], run.Observer.Checkpoints.Select(c => c.OptimizerSteps));
        Assert.All(run.Observer.Epochs, e => Assert.True(e.Best));
        Assert.Equal(12, run.Observer.MicroSteps.Count);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (i / 3, i % 3)), run.Observer.MicroSteps.Select(m => (m.Epoch, m.Index)));
        Assert.Equal(["A photo of newclas cat", "a high resolution realistic image of newclas cat", "A close-up photo of a newclas cat"],
                     outcome.Prompts);
        Assert.Equal(outcome.Prompts, run.Observer.MicroSteps.Take(3).Select(m => m.Prompt));
        foreach (var epoch in run.Observer.Epochs)
        {
            var steps = run.Observer.MicroSteps.Where(m => m.Epoch == epoch.Epoch).ToArray();
            Assert.Equal(steps.Average(m => (double)m.Loss), epoch.Loss, 12);
            Assert.Equal(steps.Count(m => m.PredictedClassId == settings.ClassId) / 3.0, epoch.Accuracy);
            Assert.True(epoch.ClippedGradNorm <= settings.MaxGradNorm + 1e-6);
        }
    }

    [Fact]
    public async Task ResumingFromACheckpointEndsWithTheSameTokenBitForBit()
    {
        var reference = await models.ReferenceRun;
        var afterFirstEpoch = reference.Observer.Checkpoints.First();
        Assert.Equal(1, afterFirstEpoch.EpochsCompleted);

        var resumed = await TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, TrainingRuns.Small(), afterFirstEpoch);

        Assert.Equal(reference.Outcome.BestToken, resumed.Outcome.BestToken);
        Assert.Equal(reference.Outcome.BestLoss, resumed.Outcome.BestLoss);
        Assert.Equal(reference.Outcome.BestEpoch, resumed.Outcome.BestEpoch);
        Assert.Equal(reference.Outcome.Epochs, resumed.Outcome.Epochs);
        Assert.Equal(reference.Observer.Epochs.Skip(1).Select(e => (e.Epoch, e.Loss)), resumed.Observer.Epochs.Select(e => (e.Epoch, e.Loss)));
        AssertSameCheckpoint(reference.LastCheckpoint, resumed.LastCheckpoint);
    }

    [Fact]
    public async Task OverlapOnAndOffGiveTheIdenticalToken()
    {
        var on = await models.ReferenceRun;
        var off = await TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, TrainingRuns.Small(overlap: false));

        Assert.Equal(on.Outcome.BestToken, off.Outcome.BestToken);
        Assert.Equal(on.Observer.MicroSteps.Select(m => m.Loss), off.Observer.MicroSteps.Select(m => m.Loss));
        AssertSameCheckpoint(on.LastCheckpoint, off.LastCheckpoint);
        output.WriteLine($"seconds per micro-step, 32x32, 4 steps, Full/Recompute: overlap off {off.Observer.MicroSteps.Average(m => m.Seconds):F3}, " +
                         $"on {on.Observer.MicroSteps.Average(m => m.Seconds):F3} (whole runs {off.Seconds:F1} s / {on.Seconds:F1} s)");
    }

    [Fact]
    public async Task AnEpochsAccuracyAboveTheTargetStopsTrainingWithoutAStep()
    {
        // vit-tiny predicts class 0 for every image here: accuracy 1 > 0.7 after the first epoch.
        var settings = TrainingRuns.Small() with { ClassId = 0, TargetAccuracy = 0.7, MicroStepsPerEpoch = 2, Steps = 2 };
        var run = await TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, settings);
        Assert.Equal(StopReason.TargetAccuracy, run.Outcome.Reason);
        Assert.Equal(1, run.Outcome.Epochs);
        Assert.Equal(1.0, run.Outcome.FinalAccuracy);
        Assert.Equal(0, run.Outcome.BestEpoch);
        Assert.Empty(run.Observer.Checkpoints);
        Assert.Equal(await models.Diffusion.GetTokenEmbeddingAsync("a", default), run.Outcome.BestToken);
    }

    [Fact]
    public async Task PatienceStopsAfterEpochsWithoutALowerLoss()
    {
        // A classifier whose loss never changes: epoch 0 is the best, every later epoch fails to improve on it.
        var settings = TrainingRuns.Small() with { PatienceEpochs = 2, MaxEpochs = 10, MicroStepsPerEpoch = 1, Steps = 2 };
        var run = await TrainingRuns.RunAsync(models.Diffusion, new ConstantLossClassifier(), settings);
        Assert.Equal(StopReason.Patience, run.Outcome.Reason);
        Assert.Equal(3, run.Outcome.Epochs);
        Assert.Equal(0, run.Outcome.BestEpoch);
        Assert.Equal([true, false, false], run.Observer.Epochs.Select(e => e.Best));
        Assert.Equal([0, 1], run.Observer.Checkpoints.Select(c => c.EpochsWithoutImprovement));
    }

    [Fact]
    public async Task ACheckpointFromOtherSettingsIsRefused()
    {
        var checkpoint = (await models.ReferenceRun).Observer.Checkpoints.First();
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, TrainingRuns.Small() with { Seed = 36 }, checkpoint));
        Assert.Contains("seed 35", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() =>
            TrainingRuns.RunAsync(models.Diffusion, models.ClassifierBackend, TrainingRuns.Small(),
                                  checkpoint with { Token = new float[7] }));
    }

    [Fact]
    public async Task MicroStepZeroStartsFromTheServicesOwnNoiseForTheSeed()
    {
        var info = await models.Diffusion.GetModelInfoAsync(default);
        var latents = EpochNoise.Draw(35, 2, info.LatentChannels, 32, 32, info.VaeScaleFactor);
        Assert.NotEqual(latents[0].Values, latents[1].Values);
        await using var session = await models.Diffusion.OpenGradientSessionAsync(
            new GradientSessionOptions("newclas", GradientPath.Reference, 0, SessionMemoryMode.Recompute), default);
        var token = await models.Diffusion.GetTokenEmbeddingAsync("a", default);
        var sampling = new SamplingSettings("A photo of newclas cat", 35, 2, 7, 32, 32, null, PromptPadding.MaxLength);
        var fromSeed = await session.ForwardAsync(new ForwardRequest(1, sampling, token, null), default);
        var fromNoise = await session.ForwardAsync(new ForwardRequest(2, sampling, token, latents[0]), default);
        Assert.Equal(fromSeed.Image.Values, fromNoise.Image.Values);
    }

    private static void AssertSameCheckpoint(TrainingCheckpoint expected, TrainingCheckpoint actual)
    {
        Assert.Equal(expected.EpochsCompleted, actual.EpochsCompleted);
        Assert.Equal(expected.Token, actual.Token);
        Assert.Equal(expected.ExpAvg, actual.ExpAvg);
        Assert.Equal(expected.ExpAvgSq, actual.ExpAvgSq);
        Assert.Equal(expected.OptimizerSteps, actual.OptimizerSteps);
        Assert.Equal(expected.BestToken, actual.BestToken);
        Assert.Equal(expected.BestLoss, actual.BestLoss);
    }

    /// <summary>Loss 1 and a zero image gradient for every image.</summary>
    private sealed class ConstantLossClassifier : IClassifierBackend
    {
        public string Name => "constant";
        public string Address => "in-process";
        public Task<ClassifierModelInfo> GetInfoAsync(CancellationToken cancellationToken) =>
            Task.FromResult(new ClassifierModelInfo("constant", 10, Enumerable.Range(0, 10).Select(i => $"c{i}").ToArray()));
        public Task<ClassifierLoss> LossAndGradientAsync(TensorData image, int targetClassId, CancellationToken cancellationToken) =>
            Task.FromResult(new ClassifierLoss(1f, 0, 0.1f, image with { Values = new float[image.Values.Length] }));
        public Task<IReadOnlyList<ClassifierPrediction>> ClassifyAsync(TensorData images, int targetClassId, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
