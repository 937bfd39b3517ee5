using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Jobs;
using SamplingOptions = DiscriminativeTokens.Contracts.Diffusion.V1.SamplingOptions;

namespace DiscriminativeTokens.Orchestrator.Tests;

public class TokenGenerationTests
{
    [Fact]
    public async Task GeneratesWithTheJobsTokenAndItsSettingsOneSeedPerImage()
    {
        using var dir = new TempDirectory();
        await using var system = JobSystem.Open(dir.Path);
        var job = await system.StartTrainingAsync();
        await system.WaitForStateAsync(job.JobId, JobState.Succeeded);

        var images = await system.Generation.StartAsync(new GenerateWithTokenRequest
        {
            TrainingJobId = job.JobId,
            Sampling = new SamplingOptions { Seed = 7 },
            NumImages = 3,
        }, CancellationToken.None);
        var generated = new List<GeneratedImage>();
        await foreach (var image in images) generated.Add(image);
        Assert.Equal([0, 1, 2], generated.Select(g => g.Index));
        Assert.Equal([7UL, 8, 9], generated.Select(g => g.Seed));
        Assert.All(generated, g => Assert.Equal([1L, 3, 8, 8], g.Image.Shape));
        // The fake draws different images with and without a token, from the seed alone otherwise.
        var withoutToken = await new Fakes.FakeDiffusionBackend("d", "a").GenerateAsync(
            new Orchestration.Backends.SamplingSettings("p", 7, 4, 7, 8, 8, null, Orchestration.Backends.PromptPadding.MaxLength), null, CancellationToken.None);
        Assert.NotEqual(withoutToken.Values, generated[0].Image.Values);
    }

    [Fact]
    public async Task RefusesJobsWithoutATokenAndPromptsWithoutIt()
    {
        using var dir = new TempDirectory();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var engine = new Fakes.ScriptedTrainingEngine { BeforeEpoch = (_, ct) => release.Task.WaitAsync(ct) };
        await using var system = JobSystem.Open(dir.Path, training: engine);
        var job = await system.StartTrainingAsync();

        async Task<JobRequestException> Refused(GenerateWithTokenRequest request) =>
            await Assert.ThrowsAsync<JobRequestException>(() => system.Generation.StartAsync(request, CancellationToken.None));

        Assert.Equal(JobRequestError.NotFound, (await Refused(new GenerateWithTokenRequest { TrainingJobId = "nope" })).Error);
        Assert.Equal(JobRequestError.FailedPrecondition, (await Refused(new GenerateWithTokenRequest { TrainingJobId = job.JobId })).Error);
        release.SetResult();
        await system.WaitForStateAsync(job.JobId, JobState.Succeeded);
        var noToken = await Refused(new GenerateWithTokenRequest { TrainingJobId = job.JobId, Sampling = new SamplingOptions { Prompt = "a photo of a cat" } });
        Assert.Equal(JobRequestError.InvalidArgument, noToken.Error);
        Assert.Contains("{token}", noToken.Message);
        Assert.Equal(JobRequestError.InvalidArgument, (await Refused(new GenerateWithTokenRequest { TrainingJobId = job.JobId, NumImages = 65 })).Error);
        Assert.Equal(JobRequestError.PermissionDenied, (await Refused(new GenerateWithTokenRequest
        {
            TrainingJobId = job.JobId, Diffusion = new ServiceRef { Address = "http://x:1" },
        })).Error);
    }
}
