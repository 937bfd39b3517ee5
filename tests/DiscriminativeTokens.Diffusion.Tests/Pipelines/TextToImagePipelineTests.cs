using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Tests.Models;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Pipelines;

/// <summary>The sd-tiny model, loaded once for the pipeline tests (which run one after another).</summary>
public sealed class SdTinyModelFixture : IDisposable
{
    public StableDiffusionModel Model { get; } = StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU);

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Text-to-image against diffusers 0.27.2's StableDiffusionPipeline (reference/pipeline.safetensors: "a photo of a
/// cat", negative "", 10 PNDM steps, guidance 7.5, 32x32, the reference's initial latents). Timesteps must be equal;
/// every float tensor within max abs error &lt;= 1e-4 · max(1, max |reference|), per step for the stacked ones.
/// </summary>
public sealed class TextToImagePipelineTests(SdTinyModelFixture fixture, ITestOutputHelper output) : IClassFixture<SdTinyModelFixture>
{
    private StableDiffusionModel Model => fixture.Model;

    private TextToImageResult Generate(TextToImageOptions options) => new TextToImagePipeline(Model).Generate(options);

    private static TextToImageOptions Cat(long seed = 0) => new() { Prompt = "a photo of a cat", Seed = seed, Steps = 4 };

    [Fact]
    public void MatchesDiffusersStepByStep()
    {
        using var scope = NewDisposeScope();
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("pipeline.safetensors"));
        Assert.Equal("PNDMScheduler", reference.Metadata["scheduler"]);
        var guidedPerStep = new List<Tensor>();
        var latentsPerStep = new List<Tensor>();
        var timesteps = new List<double>();
        var options = new TextToImageOptions
        {
            Prompt = reference.Metadata["prompt"],
            NegativePrompt = reference.Metadata["negative_prompt"],
            Steps = int.Parse(reference.Metadata["num_inference_steps"]),
            GuidanceScale = double.Parse(reference.Metadata["guidance_scale"], System.Globalization.CultureInfo.InvariantCulture),
            Width = 32,
            Height = 32,
            InitialLatents = reference.Read("initial_latents"),
            StepObserver = step =>
            {
                timesteps.Add(step.Timestep);
                // The callback runs inside the pipeline's dispose scopes: detach the copies from them.
                guidedPerStep.Add(step.GuidedModelOutput.clone().DetachFromDisposeScope());
                latentsPerStep.Add(step.Latents.clone().DetachFromDisposeScope());
            },
        };
        Assert.Equal(("a photo of a cat", "", 10, 7.5), (options.Prompt, options.NegativePrompt, options.Steps, options.GuidanceScale));

        using var result = Generate(options);
        foreach (var kept in guidedPerStep.Concat(latentsPerStep)) scope.Attach(kept);

        long[] expectedTimesteps = reference.Read("timesteps").data<long>().ToArray();
        Assert.Equal(expectedTimesteps.Select(t => (double)t), timesteps);
        Assert.Empty(result.Seeds);
        Assert.Empty(result.Warnings);

        Tensor expectedGuided = reference.Read("guided_noise_preds");
        Tensor expectedLatents = reference.Read("latents_per_step");
        Assert.Equal(expectedGuided.shape[0], guidedPerStep.Count);
        for (int i = 0; i < guidedPerStep.Count; i++)
        {
            Parity.AssertClose(guidedPerStep[i], expectedGuided[i], $"guided_noise_preds[{i}]", output);
            Parity.AssertClose(latentsPerStep[i], expectedLatents[i], $"latents_per_step[{i}]", output);
        }
        Parity.AssertClose(result.Latents, reference.Read("final_latents"), "final_latents", output);
        Assert.Equal(ScalarType.Float32, result.Images.dtype);
        Parity.AssertClose(result.Images, reference.Read("image"), "image", output);
    }

    [Fact]
    public void TheSameSeedGivesBitwiseTheSameImageAndAnotherSeedDoesNot()
    {
        using var first = Generate(Cat(seed: 42));
        using var second = Generate(Cat(seed: 42));
        using var other = Generate(Cat(seed: 43));
        Assert.Equal(new long[] { 1, 3, 32, 32 }, first.Images.shape);
        Assert.Equal([42L], first.Seeds);
        Assert.True(first.Images.isfinite().all().item<bool>());
        Assert.True(first.Images.eq(second.Images).all().item<bool>(), "same seed, different images");
        Assert.True(Parity.MaxAbsError(first.Images, other.Images) > 1e-2, "seeds 42 and 43 gave the same image");
    }

    [Fact]
    public void StartingNoiseIsTorchRandnFromTheSeed()
    {
        // As diffusers with generator=torch.Generator().manual_seed(s): randn on CPU, scaled by init_noise_sigma (1
        // for PNDM). Check through the first step's input: explicit latents equal to that noise give the same image.
        using var generator = new Generator(7);
        using var noise = randn(new long[] { 1, 4, 16, 16 }, generator: generator);
        using var seeded = Generate(Cat(seed: 7));
        using var explicitNoise = Generate(Cat() with { InitialLatents = noise });
        Assert.True(seeded.Images.eq(explicitNoise.Images).all().item<bool>());
    }

    [Fact]
    public void ImageIOfABatchIsTheImageOfSeedPlusI()
    {
        using var batch = Generate(Cat(seed: 10) with { ImageCount = 2 });
        using var single = Generate(Cat(seed: 11));
        Assert.Equal([10L, 11L], batch.Seeds);
        Assert.Equal(new long[] { 2, 3, 32, 32 }, batch.Images.shape);
        // Same numbers up to batched-kernel rounding.
        Parity.AssertClose(batch.Images[1].unsqueeze(0), single.Images, "batch image 1 vs seed 11 alone", output);
        Assert.True(Parity.MaxAbsError(batch.Images[0], batch.Images[1]) > 1e-2);
    }

    [Fact]
    public void ALearnedTokenChangesTheImageAndItsInitialRowReproducesThePlainPrompt()
    {
        using var plain = Generate(Cat(seed: 3));
        using var row = Model.TextEncoder.TokenEmbeddingWeight[Model.Tokenizer.EncodeToIds("a").Single()].clone();
        using var sameAsA = Generate(Cat(seed: 3) with { Prompt = "a photo of newclas cat", LearnedToken = new LearnedToken("newclas", row) });
        Parity.AssertClose(sameAsA.Images, plain.Images, "newclas = row of 'a' vs 'a photo of a cat'", output);

        using var generator = new Generator(5);
        using var learned = randn(new long[] { Model.TextHiddenSize }, generator: generator) * 3;
        using var tokened = Generate(Cat(seed: 3) with { Prompt = "a photo of newclas cat", LearnedToken = new LearnedToken("newclas", learned) });
        double change = Parity.MaxAbsError(tokened.Images, plain.Images);
        output.WriteLine($"learned token vs plain prompt: max abs difference {change:E3}");
        Assert.True(change > 1e-2, "the learned token did not change the image");
    }

    [Theory]
    [InlineData(33, 32)]
    [InlineData(32, 31)]
    [InlineData(0, 32)]
    [InlineData(-2, 32)]
    public void SizesThatAreNotMultiplesOfTheVaeFactorAreRefused(int width, int height)
    {
        var error = Assert.Throws<ArgumentException>(() => Generate(Cat() with { Width = width, Height = height }));
        Assert.Contains($"{width}x{height}", error.Message);
        Assert.Contains("multiples of 2", error.Message);
    }

    [Fact]
    public void OtherSizesSchedulersAndBadRequests()
    {
        using (var wide = Generate(Cat() with { Width = 48, Height = 24, Scheduler = "euler" }))
            Assert.Equal(new long[] { 1, 3, 24, 48 }, wide.Images.shape);
        using var wrongLatents = zeros(1, 4, 8, 8);
        Assert.Throws<ArgumentException>(() => Generate(Cat() with { InitialLatents = wrongLatents, Width = 32, Height = 32 }));
        Assert.Throws<ArgumentException>(() => Generate(Cat() with { Steps = 0 }));
        Assert.Throws<ArgumentException>(() => Generate(Cat() with { ImageCount = 0 }));
    }

    [Fact]
    public void WithoutGuidanceTheNegativePromptIsIgnored()
    {
        using var plain = Generate(Cat(seed: 1) with { GuidanceScale = 1.0 });
        using var negative = Generate(Cat(seed: 1) with { GuidanceScale = 1.0, NegativePrompt = "a dog" });
        using var guided = Generate(Cat(seed: 1) with { NegativePrompt = "a dog" });
        Assert.True(plain.Images.eq(negative.Images).all().item<bool>());
        Assert.True(Parity.MaxAbsError(plain.Images, guided.Images) > 1e-2);
    }

    private sealed class Recorder : IProgress<DenoisingProgress>
    {
        public List<DenoisingProgress> Reports { get; } = [];
        public Action<DenoisingProgress>? OnReport { get; init; }

        public void Report(DenoisingProgress value)
        {
            Reports.Add(value);
            OnReport?.Invoke(value);
        }
    }

    [Fact]
    public void ReportsEveryUnetStep()
    {
        var recorder = new Recorder();
        using var result = Generate(Cat() with { Steps = 10, Progress = recorder });
        using var scheduler = Model.CreateScheduler();
        scheduler.SetTimesteps(10);
        Assert.Equal(scheduler.Timesteps.Select((t, i) => new DenoisingProgress(i + 1, 11, t)), recorder.Reports);
    }

    [Fact]
    public void ACancelledRunStopsBetweenStepsAndFreesItsTensors()
    {
        using (Generate(Cat())) { } // warm-up: lazily created native state is not a leak
        var statistics = DisposeScopeManager.Statistics;
        long before = statistics.ThreadTotalLiveCount;

        using var cancellation = new CancellationTokenSource();
        var recorder = new Recorder { OnReport = p => { if (p.Step == 2) cancellation.Cancel(); } };
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new TextToImagePipeline(Model).Generate(Cat() with { Steps = 10, Progress = recorder }, cancellation.Token));
        Assert.Equal(2, recorder.Reports.Count);
        Assert.Equal(before, statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void RepeatedRunsKeepOnlyWhatTheyReturn()
    {
        using (Generate(Cat())) { } // warm-up
        var statistics = DisposeScopeManager.Statistics;
        long before = statistics.ThreadTotalLiveCount;
        for (int run = 0; run < 3; run++)
        {
            using var result = Generate(Cat(seed: run) with { Steps = 10, ImageCount = 2, Scheduler = run == 1 ? "dpmpp2m" : null });
            Assert.Equal(before + 2, statistics.ThreadTotalLiveCount); // the images and the latents
        }
        Assert.Equal(before, statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void ALongRunDoesNotAccumulateTensorsFromStepToStep()
    {
        // DDIM keeps no history, so every step should see the same number of live tensors.
        var statistics = DisposeScopeManager.Statistics;
        var liveAtStep = new List<long>();
        using var result = Generate(Cat() with { Steps = 12, Scheduler = "ddim", StepObserver = _ => liveAtStep.Add(statistics.ThreadTotalLiveCount) });
        Assert.Equal(12, liveAtStep.Count);
        Assert.All(liveAtStep, count => Assert.Equal(liveAtStep[0], count));
    }
}
