using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Tokens;
using DiscriminativeTokens.Orchestrator.Tests.Fakes;

namespace DiscriminativeTokens.Orchestrator.Tests;

/// <summary>
/// The training job runner with fake backends and the scripted engine: events, checkpoints, outputs, and a restart
/// that resumes from the last checkpoint to the same token.
/// </summary>
public class TrainingJobTests
{
    [Fact]
    public async Task ATrainingJobReportsProgressCheckpointsEveryEpochAndWritesTheToken()
    {
        using var dir = new TempDirectory();
        await using var system = JobSystem.Open(dir.Path);
        var job = await system.StartTrainingAsync();
        var events = await system.WatchToEndAsync(job.JobId);

        var kinds = events.Select(e => e.EventCase).ToList();
        Assert.Equal(JobEvent.EventOneofCase.Queued, kinds[0]);
        Assert.Equal(JobEvent.EventOneofCase.Started, kinds[1]);
        Assert.Equal(JobEvent.EventOneofCase.Finished, kinds[^1]);
        // 4 epochs (max_epochs) of 3 micro-steps, an epoch summary and a checkpoint each.
        var expectedEpoch = new[] { JobEvent.EventOneofCase.MicroStep, JobEvent.EventOneofCase.MicroStep, JobEvent.EventOneofCase.MicroStep,
                                    JobEvent.EventOneofCase.Epoch, JobEvent.EventOneofCase.Checkpoint };
        Assert.Equal(Enumerable.Repeat(expectedEpoch, 4).SelectMany(k => k), kinds.Skip(2).Take(kinds.Count - 3));

        var started = events[1].Started;
        Assert.Equal(FakeBackendFactory.Default, started.DiffusionAddress);
        Assert.Equal(FakeBackendFactory.DefaultClassifier, started.ClassifierAddress);
        Assert.Equal(2, started.ClassId);
        Assert.Equal("triangle pointing down", started.ClassLabel);
        var micro = events[2].MicroStep;
        Assert.Equal("A photo of newclas triangle pointing down", micro.Prompt);
        Assert.Equal(35UL, micro.Seed);
        Assert.Equal("circle", micro.PredictedLabel);
        var checkpoints = events.Where(e => e.EventCase == JobEvent.EventOneofCase.Checkpoint).ToList();
        Assert.Equal([1, 2, 3, 4], checkpoints.Select(e => e.Checkpoint.Epoch));
        Assert.Equal(Path.Combine(job.ArtifactsDir, CheckpointFile.FileName), checkpoints[0].Checkpoint.Path);

        var finished = events[^1].Finished;
        Assert.Equal("max_epochs", finished.Reason);
        Assert.Equal(4, finished.Epochs);
        var record = system.Manager.Get(job.JobId);
        Assert.Equal(JobState.Succeeded, record.State);
        Assert.Equal(4, record.EpochsCompleted);
        Assert.Equal(finished.BestLoss, record.BestLoss);
        var lossPerEpoch = events.Where(e => e.EventCase == JobEvent.EventOneofCase.Epoch).Select(e => e.Epoch.Loss).ToList();
        Assert.Equal(lossPerEpoch.Min(), finished.BestLoss);

        // The outputs: the token of the best epoch, a sidecar describing it, and the result RPC's view of both.
        var token = LearnedTokenFile.Load(job.ArtifactsDir, FakeDiffusionBackend.Hidden, FakeDiffusionBackend.Sha);
        var checkpoint = CheckpointFile.Read(Path.Combine(job.ArtifactsDir, CheckpointFile.FileName));
        Assert.Equal(checkpoint.BestToken, token.Embedding);
        Assert.Equal(4, checkpoint.EpochsCompleted);
        Assert.Equal("newclas", token.Placeholder);
        Assert.Equal(2, token.Sidecar.ClassId);
        Assert.Equal("fake-vit", token.Sidecar.Classifier.ModelId);
        Assert.Equal("default", token.Sidecar.Classifier.EndpointName);
        Assert.Equal("fake-sd", token.Sidecar.Model.ModelId);
        Assert.Equal(0.05, token.Sidecar.Hyperparameters.LearningRate);
        Assert.Equal(3, token.Sidecar.TrainingPrompts.Count);
        var result = system.Results.GetTrainingResult(job.JobId);
        Assert.Equal("newclas", result.Placeholder);
        Assert.Equal(FakeDiffusionBackend.Hidden * 4, result.Embedding.Data.Length);
        Assert.Equal(File.ReadAllBytes(Path.Combine(job.ArtifactsDir, LearnedTokenFile.EmbeddingsFileName)), result.LearnedEmbedsSafetensors.ToByteArray());
        Assert.Contains("\"placeholder\": \"newclas\"", result.SidecarJson);
    }

    [Fact]
    public async Task TheResultIsRefusedUntilTheJobHasSucceeded()
    {
        using var dir = new TempDirectory();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var engine = new ScriptedTrainingEngine { BeforeEpoch = (_, ct) => release.Task.WaitAsync(ct) };
        await using var system = JobSystem.Open(dir.Path, training: engine);
        var job = await system.StartTrainingAsync();
        var error = Assert.Throws<JobRequestException>(() => system.Results.GetTrainingResult(job.JobId));
        Assert.Equal(JobRequestError.FailedPrecondition, error.Error);
        Assert.Equal(JobRequestError.NotFound, Assert.Throws<JobRequestException>(() => system.Results.GetTrainingResult("nope")).Error);
        release.SetResult();
        await system.WaitForStateAsync(job.JobId, JobState.Succeeded);
        Assert.Equal(job.JobId, system.Results.GetTrainingResult(job.JobId).JobId);
        Assert.Equal(JobRequestError.InvalidArgument,
                     Assert.Throws<JobRequestException>(() => system.Results.GetEvaluationResult(job.JobId)).Error);
    }

    [Fact]
    public async Task AnEngineFailureFailsTheJobWithAStatusInTheStream()
    {
        using var dir = new TempDirectory();
        var engine = new ScriptedTrainingEngine
        {
            BeforeEpoch = (epoch, _) => epoch == 1 ? throw new InvalidDataException("checkpoint seed differs") : Task.CompletedTask,
        };
        await using var system = JobSystem.Open(dir.Path, training: engine);
        var job = await system.StartTrainingAsync();
        var events = await system.WatchToEndAsync(job.JobId);
        Assert.Equal(JobEvent.EventOneofCase.Failed, events[^1].EventCase);
        Assert.Equal((int)Google.Rpc.Code.FailedPrecondition, events[^1].Failed.Status.Code);
        Assert.Contains("checkpoint seed differs", events[^1].Failed.Status.Message);
        var record = system.Manager.Get(job.JobId);
        Assert.Equal(JobState.Failed, record.State);
        Assert.Equal(1, record.EpochsCompleted);
        Assert.False(File.Exists(Path.Combine(job.ArtifactsDir, LearnedTokenFile.EmbeddingsFileName)));
    }

    [Fact]
    public async Task ARestartResumesFromTheLastCheckpointToTheSameTokenAsAnUninterruptedRun()
    {
        // Uninterrupted reference run.
        using var referenceDir = new TempDirectory();
        float[] expected;
        await using (var reference = JobSystem.Open(referenceDir.Path))
        {
            var job = await reference.StartTrainingAsync();
            await reference.WaitForStateAsync(job.JobId, JobState.Succeeded);
            expected = LearnedTokenFile.Read(job.ArtifactsDir).Embedding;
        }

        // Interrupted run: the first "process" stops while epoch 2 is running (after checkpoint 2).
        using var dir = new TempDirectory();
        var atEpoch2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopping = new ScriptedTrainingEngine
        {
            BeforeEpoch = async (epoch, ct) =>
            {
                if (epoch < 2) return;
                atEpoch2.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            },
        };
        string jobId;
        Orchestration.Training.TrainingCheckpoint written;
        await using (var first = JobSystem.Open(dir.Path, training: stopping))
        {
            var job = await first.StartTrainingAsync();
            jobId = job.JobId;
            await atEpoch2.Task.WaitAsync(TimeSpan.FromSeconds(30));
            written = CheckpointFile.Read(Path.Combine(job.ArtifactsDir, CheckpointFile.FileName));
        }
        Assert.Equal(2, written.EpochsCompleted);

        var resuming = new ScriptedTrainingEngine();
        await using var second = JobSystem.Open(dir.Path, training: resuming);
        var events = await second.WatchToEndAsync(jobId);
        Assert.Equal(JobEvent.EventOneofCase.Finished, events[^1].EventCase);
        var resumed = Assert.Single(events, e => e.EventCase == JobEvent.EventOneofCase.Resumed);
        Assert.Equal(2, resumed.Resumed.Epoch);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (ulong)i), events.Select(e => e.Sequence));
        // Epochs 2 and 3 ran after the resume, each once; epochs 0 and 1 are not run again.
        var epochsAfterResume = events.SkipWhile(e => e.EventCase != JobEvent.EventOneofCase.Resumed)
                                      .Where(e => e.EventCase == JobEvent.EventOneofCase.Epoch).Select(e => e.Epoch.Epoch);
        Assert.Equal([2, 3], epochsAfterResume);

        Assert.True(resuming.ResumedFrom.TryDequeue(out var from));
        Assert.NotNull(from);
        Assert.Equal(written.Token, from.Token);
        Assert.Equal(written.ExpAvg, from.ExpAvg);
        Assert.Equal(written.ExpAvgSq, from.ExpAvgSq);
        Assert.Equal(written.BestLoss, from.BestLoss);

        var job2 = second.Manager.Get(jobId);
        Assert.Equal(JobState.Succeeded, job2.State);
        // Bit for bit: float equality of every element, no tolerance.
        Assert.Equal(expected, LearnedTokenFile.Read(job2.ArtifactsDir).Embedding);
    }
}
