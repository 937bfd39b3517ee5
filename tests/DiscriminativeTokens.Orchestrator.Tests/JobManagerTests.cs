using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestrator.Tests.Fakes;

namespace DiscriminativeTokens.Orchestrator.Tests;

/// <summary>Queueing, watching, cancelling and failing, with a scripted executor (no backends).</summary>
public class JobManagerTests
{
    /// <summary>One gate per job: the scripted job runs until the test opens its gate.</summary>
    private sealed class Gates
    {
        private readonly Dictionary<string, TaskCompletionSource> _gates = [];

        public TaskCompletionSource For(string jobId)
        {
            lock (_gates)
            {
                if (!_gates.TryGetValue(jobId, out var gate))
                    _gates[jobId] = gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return gate;
            }
        }
    }

    [Fact]
    public async Task StartReturnsAQueuedJobAtOnceAndRunsItToSuccess()
    {
        using var dir = new TempDirectory();
        var gates = new Gates();
        var executor = new ScriptedExecutor
        {
            Run = async (run, ct) =>
            {
                await gates.For(run.JobId).Task.WaitAsync(ct);
                return new JobFinished { Reason = "completed", Epochs = 3, BestLoss = 0.5, FinalAccuracy = 0.8 };
            },
        };
        await using var system = JobSystem.Open(dir.Path, executor);
        var job = await system.StartTrainingAsync(name: "first");
        Assert.Equal(JobState.Queued, job.State);
        Assert.Equal("first", job.DisplayName);
        Assert.Equal(1UL, job.LastSequence);
        Assert.Equal(Path.Combine(dir.Path, "jobs", job.JobId), job.ArtifactsDir);

        await system.WaitForStateAsync(job.JobId, JobState.Running);
        gates.For(job.JobId).SetResult();
        var events = await system.WatchToEndAsync(job.JobId);
        Assert.Equal([JobEvent.EventOneofCase.Queued, JobEvent.EventOneofCase.Finished], events.Select(e => e.EventCase));
        var done = system.Manager.Get(job.JobId);
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.Equal(3, done.EpochsCompleted);
        Assert.NotNull(done.StartedAt);
        Assert.NotNull(done.EndedAt);
        Assert.True(Directory.Exists(done.ArtifactsDir));
    }

    [Fact]
    public async Task WithOneSlotJobsRunOneAtATimeInCreationOrder()
    {
        using var dir = new TempDirectory();
        var gates = new Gates();
        int running = 0, maxRunning = 0;
        var executor = new ScriptedExecutor
        {
            Run = async (run, ct) =>
            {
                int now = Interlocked.Increment(ref running);
                InterlockedMax(ref maxRunning, now);
                await gates.For(run.JobId).Task.WaitAsync(ct);
                Interlocked.Decrement(ref running);
                return new JobFinished { Reason = "completed" };
            },
        };
        await using var system = JobSystem.Open(dir.Path, executor, maxConcurrentJobs: 1);
        var jobs = new List<Job>();
        for (int i = 0; i < 3; i++) jobs.Add(await system.StartTrainingAsync(name: $"job {i}"));
        Assert.Equal([0, 1, 2], jobs.Select(j => system.Store.ReadEvents(j.JobId, 0)[0].Queued.Position));

        await system.WaitForStateAsync(jobs[0].JobId, JobState.Running);
        await Task.Delay(200);
        Assert.Equal(JobState.Queued, system.Manager.Get(jobs[1].JobId).State);
        Assert.Equal(JobState.Queued, system.Manager.Get(jobs[2].JobId).State);

        foreach (var job in jobs)
        {
            await system.WaitForStateAsync(job.JobId, JobState.Running);
            gates.For(job.JobId).SetResult();
            await system.WaitForStateAsync(job.JobId, JobState.Succeeded);
        }
        Assert.Equal(jobs.Select(j => j.JobId), executor.Started);
        Assert.Equal(1, maxRunning);
    }

    [Fact]
    public async Task TwoSlotsRunTwoJobsAtOnce()
    {
        using var dir = new TempDirectory();
        var gates = new Gates();
        var executor = new ScriptedExecutor
        {
            Run = async (run, ct) =>
            {
                await gates.For(run.JobId).Task.WaitAsync(ct);
                return new JobFinished();
            },
        };
        await using var system = JobSystem.Open(dir.Path, executor, maxConcurrentJobs: 2);
        var a = await system.StartTrainingAsync();
        var b = await system.StartTrainingAsync();
        var c = await system.StartTrainingAsync();
        await system.WaitForStateAsync(a.JobId, JobState.Running);
        await system.WaitForStateAsync(b.JobId, JobState.Running);
        Assert.Equal(JobState.Queued, system.Manager.Get(c.JobId).State);
        gates.For(b.JobId).SetResult();
        await system.WaitForStateAsync(c.JobId, JobState.Running);
        gates.For(a.JobId).SetResult();
        gates.For(c.JobId).SetResult();
        await system.WaitForStateAsync(c.JobId, JobState.Succeeded);
    }

    [Fact]
    public async Task CancellingAQueuedJobEndsItAtOnceAndIsIdempotent()
    {
        using var dir = new TempDirectory();
        var gates = new Gates();
        var executor = new ScriptedExecutor
        {
            Run = async (run, ct) =>
            {
                await gates.For(run.JobId).Task.WaitAsync(ct);
                return new JobFinished();
            },
        };
        await using var system = JobSystem.Open(dir.Path, executor);
        var first = await system.StartTrainingAsync();
        var second = await system.StartTrainingAsync();
        await system.WaitForStateAsync(first.JobId, JobState.Running);

        var cancelled = system.Manager.Cancel(second.JobId);
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.NotNull(cancelled.EndedAt);
        Assert.Equal(cancelled, system.Manager.Cancel(second.JobId));
        var events = await system.WatchToEndAsync(second.JobId);
        Assert.Equal([JobEvent.EventOneofCase.Queued, JobEvent.EventOneofCase.Cancelled], events.Select(e => e.EventCase));

        gates.For(first.JobId).SetResult();
        await system.WaitForStateAsync(first.JobId, JobState.Succeeded);
        await Task.Delay(100);
        Assert.DoesNotContain(second.JobId, executor.Started);
        // Cancelling an ended job returns it unchanged.
        var ended = system.Manager.Get(first.JobId);
        Assert.Equal(ended, system.Manager.Cancel(first.JobId));
    }

    [Fact]
    public async Task CancellingARunningJobCancelsItsTokenAndEndsWithJobCancelled()
    {
        using var dir = new TempDirectory();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executor = new ScriptedExecutor
        {
            Run = async (run, ct) =>
            {
                run.Append(new JobEvent { Started = new JobStarted() });
                started.SetResult();
                await Task.Delay(Timeout.Infinite, ct);
                return new JobFinished();
            },
        };
        await using var system = JobSystem.Open(dir.Path, executor);
        var job = await system.StartTrainingAsync();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(JobState.Running, system.Manager.Cancel(job.JobId).State);
        var events = await system.WatchToEndAsync(job.JobId);
        Assert.Equal([JobEvent.EventOneofCase.Queued, JobEvent.EventOneofCase.Started, JobEvent.EventOneofCase.Cancelled],
                     events.Select(e => e.EventCase));
        Assert.Equal(JobState.Cancelled, system.Manager.Get(job.JobId).State);
    }

    [Fact]
    public async Task AFailingJobEmitsJobFailedWithAStatusAndTheNextJobRuns()
    {
        using var dir = new TempDirectory();
        var executor = new ScriptedExecutor
        {
            Run = (run, _) => run.Job.DisplayName == "bad"
                ? throw new BackendException("classifier", BackendFailure.Transient, "connection refused")
                : Task.FromResult(new JobFinished { Reason = "completed" }),
        };
        await using var system = JobSystem.Open(dir.Path, executor);
        var bad = await system.StartTrainingAsync(name: "bad");
        var good = await system.StartTrainingAsync(name: "good");
        var events = await system.WatchToEndAsync(bad.JobId);
        var failed = events[^1];
        Assert.Equal(JobEvent.EventOneofCase.Failed, failed.EventCase);
        Assert.Equal((int)Google.Rpc.Code.Unavailable, failed.Failed.Status.Code);
        Assert.Contains("connection refused", failed.Failed.Status.Message);
        var job = system.Manager.Get(bad.JobId);
        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal(failed.Failed.Status, job.Error);
        await system.WaitForStateAsync(good.JobId, JobState.Succeeded);
    }

    [Fact]
    public async Task WatchReplaysStoredEventsThenLiveOnesAndReattachesWithoutLossOrDuplicates()
    {
        using var dir = new TempDirectory();
        var step = new SemaphoreSlim(0);
        const int Steps = 20;
        var executor = new ScriptedExecutor
        {
            Run = async (run, ct) =>
            {
                for (int i = 0; i < Steps; i++)
                {
                    await step.WaitAsync(ct);
                    run.Append(new JobEvent { MicroStep = new MicroStep { Index = i } });
                }
                return new JobFinished { Reason = "completed" };
            },
        };
        await using var system = JobSystem.Open(dir.Path, executor);
        var job = await system.StartTrainingAsync();
        step.Release(5);

        // First watcher: reads until it has seen micro-step 4, then "disconnects".
        var seen = new List<JobEvent>();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await foreach (var e in system.Manager.Watch(job.JobId, 0, cts.Token))
            {
                seen.Add(e);
                if (e.EventCase == JobEvent.EventOneofCase.MicroStep && e.MicroStep.Index == 4) break;
            }
        }
        // Events keep coming while nobody watches, and while the second watcher attaches.
        step.Release(7);
        var rest = system.WatchToEndAsync(job.JobId, after: seen[^1].Sequence);
        for (int i = 0; i < Steps - 12; i++)
        {
            step.Release();
            await Task.Delay(5);
        }
        seen.AddRange(await rest);

        Assert.Equal(Enumerable.Range(1, seen.Count).Select(i => (ulong)i), seen.Select(e => e.Sequence));
        Assert.Equal(Enumerable.Range(0, Steps), seen.Where(e => e.EventCase == JobEvent.EventOneofCase.MicroStep).Select(e => e.MicroStep.Index));
        Assert.Equal(JobEvent.EventOneofCase.Finished, seen[^1].EventCase);
        Assert.Equal(system.Manager.Get(job.JobId).LastSequence, seen[^1].Sequence);

        // Watching an ended job replays it and ends; watching after its last event ends at once.
        Assert.Equal(seen.Select(e => e.Sequence), (await system.WatchToEndAsync(job.JobId)).Select(e => e.Sequence));
        Assert.Empty(await system.WatchToEndAsync(job.JobId, after: seen[^1].Sequence));
    }

    [Fact]
    public async Task WatchingAnUnknownJobIsNotFoundAtOnce()
    {
        using var dir = new TempDirectory();
        await using var system = JobSystem.Open(dir.Path, new ScriptedExecutor());
        var error = Assert.Throws<JobRequestException>(() => system.Manager.Watch("nope", 0, CancellationToken.None));
        Assert.Equal(JobRequestError.NotFound, error.Error);
        Assert.Equal(JobRequestError.NotFound, Assert.Throws<JobRequestException>(() => system.Manager.Cancel("nope")).Error);
        Assert.Equal(JobRequestError.NotFound, Assert.Throws<JobRequestException>(() => system.Manager.Get("nope")).Error);
    }

    [Fact]
    public async Task RestartQueuesUnfinishedJobsAgainInCreationOrder()
    {
        using var dir = new TempDirectory();
        var blocked = new ScriptedExecutor { Run = async (_, ct) => { await Task.Delay(Timeout.Infinite, ct); return new JobFinished(); } };
        string[] ids;
        await using (var first = JobSystem.Open(dir.Path, blocked))
        {
            ids = [(await first.StartTrainingAsync()).JobId, (await first.StartTrainingAsync()).JobId, (await first.StartTrainingAsync()).JobId];
            await first.WaitForStateAsync(ids[0], JobState.Running);
            first.Manager.Cancel(ids[2]);
        }
        // The "process" stopped: the running job stays RUNNING in the store, the queued one QUEUED.
        using (var store = new JobStore(dir.Path))
        {
            Assert.Equal(JobState.Running, store.Get(ids[0])!.State);
            Assert.Equal(JobState.Queued, store.Get(ids[1])!.State);
            Assert.Equal(JobState.Cancelled, store.Get(ids[2])!.State);
        }

        var finishing = new ScriptedExecutor();
        await using var second = JobSystem.Open(dir.Path, finishing);
        await second.WaitForStateAsync(ids[0], JobState.Succeeded);
        await second.WaitForStateAsync(ids[1], JobState.Succeeded);
        Assert.Equal(ids[..2], finishing.Started);
        Assert.Equal(JobState.Cancelled, second.Manager.Get(ids[2]).State);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current) { }
    }
}
