using System.Diagnostics;
using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.InProcess;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Training;
using DiscriminativeTokens.Testing;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Orchestrator.Tests.EndToEnd;

/// <summary>
/// Training across three real processes (Orchestrator, DiffusionService with sd-tiny, ClassifierService with
/// vit-tiny) compared with the same loop in process, and surviving a killed orchestrator and a killed classifier.
/// </summary>
[Collection(ThreeProcessCollection.Name)]
public class ThreeProcessTrainingTests(ThreeProcessFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task TheInProcessRunAndTheThreeProcessRunLearnTheSameToken()
    {
        var reference = await fixture.ReferenceAsync();
        var watch = Stopwatch.StartNew();
        // The settings the job ran with, as stored (defaults filled in), are the in-process tests' settings.
        var settings = TrainingConfigMapping.ToSettings(reference.Job.Training);
        Assert.Equal((4, "cat", 3, 4, 32, GradientPath.Full, 0.5, 3),
                     (settings.ClassId, settings.ClassPromptName, settings.MicroStepsPerEpoch, settings.Steps, settings.ImageSize,
                      settings.GradientPath, settings.LearningRate, settings.MaxEpochs));

        // One LibTorch thread, as the diffusion service is configured (ThreeProcessFixture): same kernels, same order.
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            await RunInProcessAndCompareAsync(reference, settings);
        }
        finally
        {
            set_num_threads(threads);
        }
        output.WriteLine($"in-process run and comparison {watch.Elapsed.TotalSeconds:F1} s");
    }

    private async Task RunInProcessAndCompareAsync(ReferenceRun reference, TrainingSettings settings)
    {
        using var engine = new DiffusionEngine(StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU), new ServingLimits());
        using var classifier = ClassifierLoader.LoadVit(ThreeProcessFixture.VitFolder, CPU);
        var epochs = new EpochRecorder();
        var loop = new TrainingLoop(new InProcessDiffusionBackend(engine), new InProcessClassifierBackend(classifier),
                                    settings, epochs, new MicroStepRetryOptions());
        var inProcess = await loop.RunAsync(resumeFrom: null, CancellationToken.None);

        float[] remote = reference.Token;
        double maxDiff = Calls.MaxAbsDifference(inProcess.BestToken, remote);
        double scale = Calls.MaxAbs(remote);
        var remoteLosses = reference.Events.Where(e => e.EventCase == JobEvent.EventOneofCase.Epoch).Select(e => e.Epoch.Loss).ToArray();
        var localLosses = epochs.Reports.Select(r => r.Loss).ToArray();
        double lossDiff = remoteLosses.Zip(localLosses, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"token: max |in-process - three-process| = {maxDiff:E3} (max |token| = {scale:F4}, relative " +
                         $"{maxDiff / scale:E3}), bit-identical: {Calls.BitIdentical(inProcess.BestToken, remote)}");
        output.WriteLine($"epoch losses three-process [{string.Join(", ", remoteLosses.Select(l => l.ToString("R")))}]");
        output.WriteLine($"epoch losses in-process    [{string.Join(", ", localLosses.Select(l => l.ToString("R")))}], max diff {lossDiff:E3}");

        Assert.Equal(3, inProcess.Epochs);
        Assert.Equal(reference.Result.Epochs, inProcess.Epochs);
        Assert.Equal(reference.Result.BestLoss, inProcess.BestLoss);
        // Tolerance: none. Tensors cross the wire as exact float32, and the services run the same kernels with the same
        // thread count (one) as this process, so the token and every epoch loss are bit for bit the same. (Measured:
        // with the classifier service on two threads and this process on one, the token differed by 9.4e-6, i.e.
        // 1.0e-5 * max|token|, and the last epoch loss by 8e-8; with equal thread counts, by nothing.)
        Assert.True(Calls.BitIdentical(inProcess.BestToken, remote),
                    $"The tokens differ by up to {maxDiff:E3} (max |token| {scale:F4}).");
        Assert.Equal(remoteLosses, localLosses);
    }

    [Fact]
    public async Task AnOrchestratorKilledMidEpochResumesOnRestartToTheIdenticalToken()
    {
        var reference = await fixture.ReferenceAsync();
        var watch = Stopwatch.StartNew();
        using var data = new TempDirectory();

        // First orchestrator: run until a checkpoint has been written and the next epoch has begun, then SIGKILL.
        var first = await fixture.StartOrchestratorAsync(data.Path);
        string jobId;
        List<JobEvent> before;
        int checkpointEpoch = 0;
        try
        {
            var client = new OrchestratorService.OrchestratorServiceClient(first.Channel);
            jobId = (await client.StartTrainingAsync(new StartTrainingRequest { Config = ThreeProcessFixture.SmallConfig() },
                                                     deadline: Calls.UnaryDeadline())).JobId;
            before = await Calls.WatchAsync(client, jobId, stopAfter: e =>
            {
                if (e.EventCase == JobEvent.EventOneofCase.Checkpoint) checkpointEpoch = e.Checkpoint.Epoch;
                return e.EventCase == JobEvent.EventOneofCase.MicroStep && checkpointEpoch >= 1 &&
                       e.MicroStep.Epoch == checkpointEpoch && e.MicroStep.Index == 0;
            });
            await first.KillAsync();
            Assert.NotEqual(0, first.ExitCode);
        }
        finally
        {
            await first.DisposeAsync();
        }
        var killedAt = before.Last();
        Assert.Equal(JobEvent.EventOneofCase.MicroStep, killedAt.EventCase);
        Assert.Equal(checkpointEpoch, killedAt.MicroStep.Epoch);
        output.WriteLine($"killed after event {killedAt.Sequence} (epoch {killedAt.MicroStep.Epoch} micro-step 0) at {watch.Elapsed.TotalSeconds:F1} s");

        // Second orchestrator on the same data directory: re-attach after the last event seen.
        await using var second = await fixture.StartOrchestratorAsync(data.Path);
        var client2 = new OrchestratorService.OrchestratorServiceClient(second.Channel);
        var after = await Calls.WatchAsync(client2, jobId, afterSequence: killedAt.Sequence);
        var all = before.Concat(after).ToList();

        // No sequence gaps or duplicates across the two watches.
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (ulong)i), all.Select(e => e.Sequence));
        var resumed = Assert.Single(all, e => e.EventCase == JobEvent.EventOneofCase.Resumed);
        Assert.Equal(checkpointEpoch, resumed.Resumed.Epoch);
        // Killed mid-epoch: the epoch it was in had not ended (no summary for it before the resume).
        Assert.DoesNotContain(all.TakeWhile(e => e != resumed),
                              e => e.EventCase == JobEvent.EventOneofCase.Epoch && e.Epoch.Epoch == checkpointEpoch);
        Assert.Equal(JobEvent.EventOneofCase.Finished, all.Last().EventCase);

        var job = await client2.GetJobAsync(new GetJobRequest { JobId = jobId }, deadline: Calls.UnaryDeadline());
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal((ulong)all.Count, job.LastSequence);
        var result = await client2.GetTrainingResultAsync(new GetTrainingResultRequest { JobId = jobId }, deadline: Calls.UnaryDeadline());
        Assert.True(Calls.BitIdentical(reference.Token, Calls.Floats(result.Embedding)),
                    $"The resumed job's token differs from the uninterrupted run's by up to " +
                    $"{Calls.MaxAbsDifference(reference.Token, Calls.Floats(result.Embedding)):E3}.");
        Assert.Equal(reference.Result.BestLoss, result.BestLoss);
        // Every epoch's summary (the last one per epoch: the redone epoch reports again) is the uninterrupted run's.
        Assert.Equal(EpochLosses(reference.Events), EpochLosses(all));
        output.WriteLine($"resumed from epoch {resumed.Resumed.Epoch}; {all.Count} events; test {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task AClassifierKilledMidJobAndRestartedOnTheSamePortIsSurvivedWithTheIdenticalToken()
    {
        var reference = await fixture.ReferenceAsync();
        var watch = Stopwatch.StartNew();
        int port = ServiceProcess.FreeLoopbackPort();
        var classifier = await ThreeProcessFixture.StartClassifierAsync(port);
        try
        {
            using var data = new TempDirectory();
            await using var orchestrator = await fixture.StartOrchestratorAsync(data.Path, classifierAddress: classifier.Address);
            var client = new OrchestratorService.OrchestratorServiceClient(orchestrator.Channel);
            string jobId = (await client.StartTrainingAsync(new StartTrainingRequest { Config = ThreeProcessFixture.SmallConfig() },
                                                            deadline: Calls.UnaryDeadline())).JobId;
            var before = await Calls.WatchAsync(client, jobId, stopAfter: e => e.EventCase == JobEvent.EventOneofCase.MicroStep);

            await classifier.KillAsync();
            await classifier.DisposeAsync();
            double killedAt = watch.Elapsed.TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(2));
            classifier = await ThreeProcessFixture.StartClassifierAsync(port);
            output.WriteLine($"classifier killed at {killedAt:F1} s, serving again at {watch.Elapsed.TotalSeconds:F1} s");

            var after = await Calls.WatchAsync(client, jobId, afterSequence: before.Last().Sequence);
            var all = before.Concat(after).ToList();
            Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (ulong)i), all.Select(e => e.Sequence));
            var retries = all.Where(e => e.EventCase == JobEvent.EventOneofCase.Retry).Select(e => e.Retry).ToList();
            foreach (var r in retries)
                output.WriteLine($"retry: {r.Service} attempt {r.Attempt} in {r.DelaySeconds:F2} s: {r.Reason}");
            Assert.NotEmpty(retries);
            Assert.Equal(JobEvent.EventOneofCase.Finished, all.Last().EventCase);
            var job = await client.GetJobAsync(new GetJobRequest { JobId = jobId }, deadline: Calls.UnaryDeadline());
            Assert.Equal(JobState.Succeeded, job.State);

            // A micro-step whose classifier call failed is redone from its start, never half-applied: the token is
            // the uninterrupted run's bit for bit, and so is every epoch's loss.
            var result = await client.GetTrainingResultAsync(new GetTrainingResultRequest { JobId = jobId }, deadline: Calls.UnaryDeadline());
            Assert.True(Calls.BitIdentical(reference.Token, Calls.Floats(result.Embedding)),
                        $"The token differs from the uninterrupted run's by up to " +
                        $"{Calls.MaxAbsDifference(reference.Token, Calls.Floats(result.Embedding)):E3}.");
            Assert.Equal(EpochLosses(reference.Events), EpochLosses(all));
            // Each micro-step was reported once: a failed attempt reports nothing.
            Assert.Equal(reference.Events.Count(e => e.EventCase == JobEvent.EventOneofCase.MicroStep),
                         all.Count(e => e.EventCase == JobEvent.EventOneofCase.MicroStep));
            output.WriteLine($"{retries.Count} retries; test {watch.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            await classifier.DisposeAsync();
        }
    }

    /// <summary>Each epoch's loss as last reported (a resumed job reports its redone epoch again).</summary>
    private static double[] EpochLosses(IEnumerable<JobEvent> events) =>
        events.Where(e => e.EventCase == JobEvent.EventOneofCase.Epoch)
              .GroupBy(e => e.Epoch.Epoch).OrderBy(g => g.Key).Select(g => g.Last().Epoch.Loss).ToArray();

    private sealed class EpochRecorder : ITrainingObserver
    {
        public List<EpochReport> Reports { get; } = [];
        public void OnMicroStep(MicroStepReport report) { }
        public void OnEpoch(EpochReport report) { lock (Reports) Reports.Add(report); }
        public void OnRetry(RetryReport report) => throw new InvalidOperationException($"Unexpected retry in process: {report}");
        public Task OnCheckpointAsync(TrainingCheckpoint checkpoint, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
