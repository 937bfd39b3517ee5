using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestrator.Tests.Fakes;

namespace DiscriminativeTokens.Orchestrator.Tests;

public class EvaluationJobTests
{
    private static async Task<Job> TrainedAsync(JobSystem system)
    {
        var job = await system.StartTrainingAsync();
        return await system.WaitForStateAsync(job.JobId, JobState.Succeeded);
    }

    private static Task<Job> EvaluateAsync(JobSystem system, EvaluationConfig config) =>
        system.Submission.StartEvaluationAsync(new StartEvaluationRequest { Config = config }, CancellationToken.None);

    [Fact]
    public async Task AnEvaluationJobKeepsEveryImageAndReportsBothAccuraciesWithTheSeeds()
    {
        using var dir = new TempDirectory();
        await using var system = JobSystem.Open(dir.Path);
        var training = await TrainedAsync(system);
        var job = await EvaluateAsync(system, new EvaluationConfig { TrainingJobId = training.JobId, ImagesPerPrompt = 3 });
        var stored = system.Manager.Get(job.JobId).Evaluation;
        Assert.Equal([1000UL, 1001, 1002], stored.Seeds);
        Assert.Equal("A photo of {token} {class}", stored.TokenPrompt);
        Assert.Equal("A photo of a {class}", stored.BaselinePrompt);
        Assert.Equal(4, stored.Steps);
        Assert.Equal(new ServiceRef { Endpoint = "default" }, stored.Classifier);

        var events = await system.WatchToEndAsync(job.JobId);
        Assert.Equal(JobEvent.EventOneofCase.Finished, events[^1].EventCase);
        Assert.Equal("completed", events[^1].Finished.Reason);
        var images = events.Where(e => e.EventCase == JobEvent.EventOneofCase.EvaluationImage).Select(e => e.EvaluationImage).ToList();
        Assert.Equal(6, images.Count);
        Assert.Equal(["token", "token", "token", "baseline", "baseline", "baseline"], images.Select(i => i.PromptKind));
        Assert.Equal("A photo of newclas triangle pointing down", images[0].Prompt);
        Assert.All(images, i => Assert.True(File.Exists(i.Path), i.Path));
        Assert.All(images, i => Assert.StartsWith(job.ArtifactsDir, i.Path));

        var result = system.Results.GetEvaluationResult(job.JobId);
        Assert.Equal(training.JobId, result.TrainingJobId);
        Assert.Equal(3, result.ImagesPerPrompt);
        Assert.Equal([1000UL, 1001, 1002], result.Seeds);
        Assert.Equal(images.Take(3).Count(i => i.Correct) / 3.0, result.TokenAccuracy, 12);
        Assert.Equal(images.Skip(3).Count(i => i.Correct) / 3.0, result.BaselineAccuracy, 12);
        Assert.Equal("fake-vit", result.ClassifierModelId);
        Assert.Equal(images, result.Images);
    }

    [Fact]
    public async Task BadEvaluationRequestsAreRefusedAndNothingIsCreated()
    {
        using var dir = new TempDirectory();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var engine = new ScriptedTrainingEngine { BeforeEpoch = (_, ct) => release.Task.WaitAsync(ct) };
        await using var system = JobSystem.Open(dir.Path, training: engine);
        var running = await system.StartTrainingAsync();

        async Task Refused(EvaluationConfig config, JobRequestError error, string message)
        {
            var e = await Assert.ThrowsAsync<JobRequestException>(() => EvaluateAsync(system, config));
            Assert.Equal(error, e.Error);
            Assert.Contains(message, e.Message);
        }

        await Refused(new EvaluationConfig { TrainingJobId = "nope" }, JobRequestError.NotFound, "no job 'nope'");
        await Refused(new EvaluationConfig { TrainingJobId = running.JobId }, JobRequestError.FailedPrecondition, "only a succeeded training job");
        release.SetResult();
        await system.WaitForStateAsync(running.JobId, JobState.Succeeded);
        string id = running.JobId;
        await Refused(new EvaluationConfig { TrainingJobId = id, Seeds = { 1, 35, 2 } }, JobRequestError.InvalidArgument, "seed 35 is the training seed");
        await Refused(new EvaluationConfig { TrainingJobId = id, Seeds = { 1, 1 } }, JobRequestError.InvalidArgument, "seeds repeat");
        await Refused(new EvaluationConfig { TrainingJobId = id, Seeds = { 1, 2 }, ImagesPerPrompt = 3 }, JobRequestError.InvalidArgument, "2 seeds were given");
        await Refused(new EvaluationConfig { TrainingJobId = id, ImagesPerPrompt = 0 }, JobRequestError.InvalidArgument, "images_per_prompt = 0");
        await Refused(new EvaluationConfig { TrainingJobId = id, TokenPrompt = "A photo of a {class}" }, JobRequestError.InvalidArgument, "has no {token}");
        await Refused(new EvaluationConfig { TrainingJobId = id, Classifier = new ServiceRef { Endpoint = "dead" } },
                      JobRequestError.FailedPrecondition, FakeBackendFactory.Unreachable);
        await Refused(new EvaluationConfig { TrainingJobId = id, Diffusion = new ServiceRef { Address = "http://x:1" } },
                      JobRequestError.PermissionDenied, "refused");
        Assert.Equal([id], system.Manager.List([], 50, null).Jobs.Select(j => j.JobId));
    }
}
