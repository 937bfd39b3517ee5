using System.Diagnostics;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Tokens;
using DiscriminativeTokens.Tensors;
using Xunit.Abstractions;
using DiffusionClient = DiscriminativeTokens.Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient;
using WireLearnedToken = DiscriminativeTokens.Contracts.Diffusion.V1.LearnedToken;

namespace DiscriminativeTokens.Orchestrator.Tests.EndToEnd;

/// <summary>
/// What a trained job is good for, across the real processes: its token file loads back (and only into its model)
/// and changes what the diffusion service generates; generation through the orchestrator; an evaluation job.
/// </summary>
[Collection(ThreeProcessCollection.Name)]
public class TrainedTokenTests(ThreeProcessFixture fixture, ITestOutputHelper output)
{
    private const string Placeholder = "newclas";

    [Fact]
    public async Task TheSavedTokenLoadsBackAndChangesGeneration()
    {
        var reference = await fixture.ReferenceAsync();
        var watch = Stopwatch.StartNew();
        var diffusion = new DiffusionClient(fixture.Diffusion.Channel);
        var info = await diffusion.GetModelInfoAsync(new GetModelInfoRequest(), deadline: Calls.UnaryDeadline());

        // The two files as a client saves them from GetTrainingResult.
        using var folder = new TempDirectory();
        File.WriteAllBytes(Path.Combine(folder.Path, LearnedTokenFile.EmbeddingsFileName), reference.Result.LearnedEmbedsSafetensors.ToByteArray());
        File.WriteAllText(Path.Combine(folder.Path, LearnedTokenFile.SidecarFileName), reference.Result.SidecarJson);
        var token = LearnedTokenFile.Load(folder.Path, info.TextHiddenSize, info.TextEncoderSha256);
        Assert.Equal(Placeholder, token.Placeholder);
        Assert.Equal(info.TextHiddenSize, token.Embedding.Length);
        Assert.True(Calls.BitIdentical(reference.Token, token.Embedding), "The file's embedding is not the result's.");
        Assert.Equal(4, token.Sidecar.ClassId);

        var wrongHash = Assert.Throws<InvalidDataException>(() =>
            LearnedTokenFile.Load(folder.Path, info.TextHiddenSize, new string('0', 64)));
        Assert.Contains($"sha256 {info.TextEncoderSha256}", wrongHash.Message);
        Assert.Contains("Use the model it was trained with", wrongHash.Message);
        var wrongSize = Assert.Throws<InvalidDataException>(() =>
            LearnedTokenFile.Load(folder.Path, info.TextHiddenSize * 2, info.TextEncoderSha256));
        Assert.Contains($"hidden size {info.TextHiddenSize}", wrongSize.Message);

        // Same prompt and seed with the learned token and with the initializer's embedding in its place.
        var sampling = new SamplingOptions
        {
            Prompt = $"A photo of {Placeholder} cat", Seed = 1234, Steps = 4, GuidanceScale = 7, Width = 32, Height = 32,
            Padding = PromptPadding.MaxLength,
        };
        async Task<float[]> GenerateAsync(float[] embedding) => Assert.Single(await Calls.ImagesAsync(diffusion.Generate(
            new GenerateRequest
            {
                Sampling = sampling,
                Token = new WireLearnedToken { Placeholder = Placeholder, Embedding = TensorCodec.EncodeArray<float>(embedding, [embedding.Length]) },
            }, deadline: DateTime.UtcNow.AddSeconds(60)))).Pixels;

        var initializer = await diffusion.GetTokenEmbeddingAsync(new GetTokenEmbeddingRequest { Word = "a" }, deadline: Calls.UnaryDeadline());
        float[] learnedImage = await GenerateAsync(token.Embedding);
        float[] learnedAgain = await GenerateAsync(token.Embedding);
        float[] initialImage = await GenerateAsync(Calls.Floats(initializer.Embedding));
        double tokenMoved = Calls.MaxAbsDifference(token.Embedding, Calls.Floats(initializer.Embedding));
        double imageChanged = Calls.MaxAbsDifference(learnedImage, initialImage);
        output.WriteLine($"token vs initializer: max abs diff {tokenMoved:E3}; image learned vs initializer: max abs diff {imageChanged:E3}");

        Assert.True(Calls.BitIdentical(learnedImage, learnedAgain), "Two generations with the learned token differ.");
        // Pixels are in [0, 1]; a learned token that changed generation changes them by well over float noise
        // (measured: 5.2e-2 after the reference run's two AdamW steps at lr 0.5).
        Assert.True(imageChanged > 1e-3, $"The learned token changed the image by only {imageChanged:E3}.");

        // The same generation through the orchestrator, with the job's token file: the same image, bit for bit.
        await using var orchestrator = await fixture.StartOrchestratorAsync(reference.DataDirectory);
        var client = new OrchestratorService.OrchestratorServiceClient(orchestrator.Channel);
        var viaOrchestrator = await Calls.ImagesAsync(client.GenerateWithToken(new GenerateWithTokenRequest
        {
            TrainingJobId = reference.Job.JobId,
            Sampling = new SamplingOptions(sampling) { Prompt = "A photo of {token} {class}" },
            NumImages = 1,
        }, deadline: DateTime.UtcNow.AddSeconds(60)));
        var (seed, pixels, shape) = Assert.Single(viaOrchestrator);
        Assert.Equal(1234UL, seed);
        Assert.Equal([1L, 3, 32, 32], shape);
        Assert.True(Calls.BitIdentical(learnedImage, pixels),
                    $"GenerateWithToken differs from the direct generation by up to {Calls.MaxAbsDifference(learnedImage, pixels):E3}.");

        // And as a user does it: `dct generate --job <id>` saves that image as a PNG.
        using var pngs = new TempDirectory();
        var dct = new System.CommandLine.RootCommand { DiscriminativeTokens.Cli.GenerateCommand.Create() };
        int exit = await dct.Parse(["generate", "--job", reference.Job.JobId, "--orchestrator", orchestrator.Address,
            "--seed", "1234", "--steps", sampling.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--out", pngs.Path]).InvokeAsync();
        Assert.Equal(0, exit);
        Assert.True(File.Exists(Path.Combine(pngs.Path, "image-000-seed1234.png")), "dct generate --job wrote no image-000-seed1234.png");
        output.WriteLine($"test {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task AnEvaluationJobScoresTokenAndBaselineImagesAndKeepsThem()
    {
        var reference = await fixture.ReferenceAsync();
        var watch = Stopwatch.StartNew();
        await using var orchestrator = await fixture.StartOrchestratorAsync(reference.DataDirectory);
        var client = new OrchestratorService.OrchestratorServiceClient(orchestrator.Channel);
        var job = await client.StartEvaluationAsync(new StartEvaluationRequest
        {
            Config = new EvaluationConfig { TrainingJobId = reference.Job.JobId, ImagesPerPrompt = 2, Steps = 4 },
        }, deadline: Calls.UnaryDeadline());
        var events = await Calls.WatchAsync(client, job.JobId);
        var ended = await client.GetJobAsync(new GetJobRequest { JobId = job.JobId }, deadline: Calls.UnaryDeadline());
        Assert.True(ended.State == JobState.Succeeded, $"The evaluation ended {ended.State}: {ended.Error}");
        Assert.Equal(JobEvent.EventOneofCase.Finished, events.Last().EventCase);

        var result = await client.GetEvaluationResultAsync(new GetEvaluationResultRequest { JobId = job.JobId }, deadline: Calls.UnaryDeadline());
        Assert.Equal(reference.Job.JobId, result.TrainingJobId);
        Assert.Equal(2, result.ImagesPerPrompt);
        Assert.Equal(2, result.Seeds.Count);
        Assert.DoesNotContain(35UL, result.Seeds); // the training seed
        Assert.InRange(result.TokenAccuracy, 0, 1);
        Assert.InRange(result.BaselineAccuracy, 0, 1);
        Assert.Equal(4, result.Images.Count);
        Assert.Equal(2, result.Images.Count(i => i.PromptKind == "token"));
        Assert.Equal(2, result.Images.Count(i => i.PromptKind == "baseline"));
        Assert.Equal(result.Images.Count(i => i.PromptKind == "token" && i.Correct) / 2.0, result.TokenAccuracy, 12);

        var pngs = Directory.GetFiles(ended.ArtifactsDir, "*.png", SearchOption.AllDirectories);
        Assert.Equal(4, pngs.Length);
        Assert.Equal(pngs.Order(), result.Images.Select(i => i.Path).Order());
        byte[] signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.All(pngs, p => Assert.Equal(signature, File.ReadAllBytes(p).Take(8)));
        Assert.Equal(4, events.Count(e => e.EventCase == JobEvent.EventOneofCase.EvaluationImage));
        output.WriteLine($"token accuracy {result.TokenAccuracy}, baseline accuracy {result.BaselineAccuracy}, seeds " +
                         $"[{string.Join(", ", result.Seeds)}]; test {watch.Elapsed.TotalSeconds:F1} s");
    }
}
