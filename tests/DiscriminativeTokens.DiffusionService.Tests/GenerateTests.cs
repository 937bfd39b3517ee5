using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Tensors;
using static TorchSharp.torch;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>Generate over gRPC produces what the in-process pipeline produces, with progress for every UNet call.</summary>
[Collection(DiffusionServiceCollection.Name)]
public sealed class GenerateTests(DiffusionServiceFixture service, InProcessModel local)
{
    private const double StateTolerance = 1e-4;

    [Fact]
    public async Task StreamsProgressForEveryUnetCallThenImagesEqualToTheInProcessPipeline()
    {
        var request = new GenerateRequest
        {
            Sampling = new SamplingOptions { Prompt = "a photo of a cat", Seed = 11, Steps = 10, GuidanceScale = 7.5f },
            NumImages = 2,
            MaxChunkBytes = 1000,
        };
        using var outcome = await GenerateCalls.RunAsync(service.Client, request);

        // PNDM makes 11 UNet calls for 10 steps; images are generated one after another.
        var progress = outcome.Progress.ToList();
        Assert.Equal(22, progress.Count);
        for (int i = 0; i < 22; i++)
        {
            Assert.Equal(i / 11, progress[i].ImageIndex);
            Assert.Equal(i % 11 + 1, progress[i].Step);
            Assert.Equal(11, progress[i].TotalSteps);
        }
        Assert.Equal(1.0, progress[10].Timestep);
        Assert.Empty(outcome.Warnings);
        Assert.Equal(GenerateEvent.EventOneofCase.Completed, outcome.Events[^1].EventCase);
        Assert.True(outcome.Events[^1].Completed.Seconds > 0);

        Assert.Equal(2, outcome.Images.Count);
        using var scope = NewDisposeScope();
        var pipeline = new TextToImagePipeline(local.Model);
        for (int i = 0; i < 2; i++)
        {
            var (index, seed, image, chunks) = outcome.Images[i];
            Assert.Equal(i, index);
            Assert.Equal((ulong)(11 + i), seed);
            Assert.Equal(13, chunks); // 3x32x32 float32 = 12288 bytes in chunks of at most 1000
            Assert.Equal([1L, 3, 32, 32], image.shape);
            using var expected = pipeline.Generate(new TextToImageOptions
            {
                Prompt = "a photo of a cat", Seed = 11 + i, Steps = 10, GuidanceScale = 7.5,
            });
            Parity.AssertClose(image, expected.Images, StateTolerance, $"image {i}");
        }
        Assert.True(outcome.Images[0].Image.min().item<float>() >= 0 && outcome.Images[0].Image.max().item<float>() <= 1);
        Assert.True(Parity.MaxAbsError(outcome.Images[0].Image, outcome.Images[1].Image) > 1e-3, "seeds 11 and 12 gave one image");
    }

    [Fact]
    public async Task ALearnedTokenIsSplicedIntoThePromptAsInProcess()
    {
        using var scope = NewDisposeScope();
        var vector = local.Dct.Read("placeholder_embedding_init").reshape(-1) + 0.5 * randn(32, generator: new Generator(3));
        var request = new GenerateRequest
        {
            Sampling = new SamplingOptions
            {
                Prompt = InProcessModel.Prompt, Seed = 5, Steps = 6, GuidanceScale = 7, Scheduler = "ddim",
                Padding = PromptPadding.ReferenceUnpadded, Width = 24, Height = 40,
            },
            Token = new Contracts.Diffusion.V1.LearnedToken { Placeholder = InProcessModel.Placeholder, Embedding = TensorCodec.Encode(vector) },
        };
        using var outcome = await GenerateCalls.RunAsync(service.Client, request);
        Assert.Equal(6, outcome.Progress.Count());
        var image = Assert.Single(outcome.Images).Image;
        Assert.Equal([1L, 3, 40, 24], image.shape);

        var options = new TextToImageOptions
        {
            Prompt = InProcessModel.Prompt, Seed = 5, Steps = 6, GuidanceScale = 7, Scheduler = "ddim",
            Padding = PromptPaddingMode.ReferenceUnpadded, Width = 24, Height = 40,
            LearnedToken = new Diffusion.Pipelines.LearnedToken(InProcessModel.Placeholder, vector),
        };
        var pipeline = new TextToImagePipeline(local.Model);
        using var expected = pipeline.Generate(options);
        Parity.AssertClose(image, expected.Images, StateTolerance, "image with token");

        using var withoutToken = pipeline.Generate(options with { LearnedToken = null });
        Assert.True(Parity.MaxAbsError(image, withoutToken.Images) > 1e-3, "the token made no difference");
    }

    [Fact]
    public async Task ATooLongPromptIsTruncatedWithAWarningNotAnError()
    {
        var request = new GenerateRequest
        {
            Sampling = new SamplingOptions { Prompt = string.Join(' ', Enumerable.Repeat("a red cat", 40)), Steps = 2 },
        };
        using var outcome = await GenerateCalls.RunAsync(service.Client, request);
        var warning = Assert.Single(outcome.Warnings);
        Assert.Contains("longer than 77 tokens", warning);
        Assert.Single(outcome.Images);
    }
}
