using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Jobs;
using Google.Protobuf.WellKnownTypes;

namespace DiscriminativeTokens.Orchestrator.Tests;

public class JobStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static Job NewJob(string id, JobState state = JobState.Queued) => new()
    {
        JobId = id,
        Kind = JobKind.Training,
        State = state,
        DisplayName = "tiger cat",
        Training = new TrainingConfig { Placeholder = "newclas", Steps = 7, Seed = 35, Target = new TargetClass { ClassId = 282, PromptName = "tiger cat" } },
        CreatedAt = Timestamp.FromDateTimeOffset(T0.AddTicks(1234567)),
        ArtifactsDir = "/data/jobs/" + id,
    };

    [Fact]
    public void AJobAndItsFirstEventRoundTripThroughTheDatabase()
    {
        using var dir = new TempDirectory();
        var original = NewJob("j1");
        using (var store = new JobStore(dir.Path))
            store.Create(original, new JobEvent { Queued = new JobQueued { Position = 2 } }, T0);

        using var reopened = new JobStore(dir.Path);
        var job = reopened.Get("j1")!;
        var expected = original.Clone();
        expected.LastSequence = 1;
        Assert.Equal(expected, job);
        var e = Assert.Single(reopened.ReadEvents("j1", 0));
        Assert.Equal(1UL, e.Sequence);
        Assert.Equal("j1", e.JobId);
        Assert.Equal(2, e.Queued.Position);
        Assert.Equal(T0, e.Time.ToDateTimeOffset());
        Assert.Null(reopened.Get("nope"));
    }

    [Fact]
    public void SequenceNumbersStartAtOneAndIncreaseByOnePerJob()
    {
        using var dir = new TempDirectory();
        using var store = new JobStore(dir.Path);
        store.Create(NewJob("a"), new JobEvent { Queued = new JobQueued() }, T0);
        store.Create(NewJob("b"), new JobEvent { Queued = new JobQueued() }, T0);
        for (int i = 0; i < 5; i++)
        {
            store.Append("a", new JobEvent { MicroStep = new MicroStep { Index = i } }, T0, j => j.EpochsCompleted = i);
            if (i % 2 == 0) store.Append("b", new JobEvent { MicroStep = new MicroStep { Index = i } }, T0);
        }
        Assert.Equal([1UL, 2, 3, 4, 5, 6], store.ReadEvents("a", 0).Select(e => e.Sequence));
        Assert.Equal([1UL, 2, 3, 4], store.ReadEvents("b", 0).Select(e => e.Sequence));
        Assert.Equal([4UL, 5, 6], store.ReadEvents("a", 3).Select(e => e.Sequence));
        Assert.Equal([0, 1, 2, 3, 4], store.ReadEvents("a", 1).Select(e => e.MicroStep.Index));
        var a = store.Get("a")!;
        Assert.Equal(6UL, a.LastSequence);
        Assert.Equal(4, a.EpochsCompleted);
        Assert.Equal(4UL, store.Get("b")!.LastSequence);
    }

    [Fact]
    public void AFailingUpdateAppendsNoEvent()
    {
        using var dir = new TempDirectory();
        using var store = new JobStore(dir.Path);
        store.Create(NewJob("a"), new JobEvent { Queued = new JobQueued() }, T0);
        Assert.Throws<InvalidOperationException>(() =>
            store.Append("a", new JobEvent { Cancelled = new JobCancelled() }, T0, _ => throw new InvalidOperationException("boom")));
        Assert.Single(store.ReadEvents("a", 0));
        Assert.Equal(1UL, store.Get("a")!.LastSequence);
        var next = store.Append("a", new JobEvent { Cancelled = new JobCancelled() }, T0).Event;
        Assert.Equal(2UL, next.Sequence);
    }

    [Fact]
    public void ErrorsAndTimesAreStored()
    {
        using var dir = new TempDirectory();
        using (var store = new JobStore(dir.Path))
        {
            store.Create(NewJob("a"), new JobEvent { Queued = new JobQueued() }, T0);
            store.Append("a", new JobEvent { Failed = new JobFailed { Status = new Google.Rpc.Status { Code = 14, Message = "down" } } }, T0, j =>
            {
                j.State = JobState.Failed;
                j.StartedAt = Timestamp.FromDateTimeOffset(T0.AddSeconds(1));
                j.EndedAt = Timestamp.FromDateTimeOffset(T0.AddSeconds(2));
                j.Error = new Google.Rpc.Status { Code = 14, Message = "down" };
                j.BestLoss = 0.125;
                j.LastAccuracy = 0.6;
            });
        }
        using var reopened = new JobStore(dir.Path);
        var job = reopened.Get("a")!;
        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal(14, job.Error.Code);
        Assert.Equal("down", job.Error.Message);
        Assert.Equal(T0.AddSeconds(1), job.StartedAt.ToDateTimeOffset());
        Assert.Equal(T0.AddSeconds(2), job.EndedAt.ToDateTimeOffset());
        Assert.Equal(0.125, job.BestLoss);
        Assert.Equal(0.6, job.LastAccuracy);
    }

    [Fact]
    public void ListingIsNewestFirstFilteredAndPaged()
    {
        using var dir = new TempDirectory();
        using var store = new JobStore(dir.Path);
        for (int i = 0; i < 7; i++)
            store.Create(NewJob($"j{i}", i % 2 == 0 ? JobState.Queued : JobState.Succeeded), new JobEvent { Queued = new JobQueued() }, T0);

        var first = store.List([], 3, null);
        Assert.Equal(["j6", "j5", "j4"], first.Jobs.Select(j => j.JobId));
        var second = store.List([], 3, first.NextPageToken);
        Assert.Equal(["j3", "j2", "j1"], second.Jobs.Select(j => j.JobId));
        var third = store.List([], 3, second.NextPageToken);
        Assert.Equal(["j0"], third.Jobs.Select(j => j.JobId));
        Assert.Equal("", third.NextPageToken);

        Assert.Equal(["j5", "j3", "j1"], store.List([JobState.Succeeded], 50, null).Jobs.Select(j => j.JobId));
        Assert.Equal(["j0", "j2", "j4", "j6"], store.ListUnfinished().Select(j => j.JobId));

        var tooBig = Assert.Throws<JobRequestException>(() => store.List([], 501, null));
        Assert.Equal(JobRequestError.InvalidArgument, tooBig.Error);
        Assert.Equal(JobRequestError.InvalidArgument, Assert.Throws<JobRequestException>(() => store.List([], 3, "garbage")).Error);
    }

    [Fact]
    public void ASecondStoreOnTheSameDataDirectoryIsRefusedUntilTheFirstIsClosed()
    {
        using var dir = new TempDirectory();
        var first = new JobStore(dir.Path);
        var error = Assert.Throws<IOException>(() => new JobStore(dir.Path));
        Assert.Contains("Another orchestrator is using the data directory", error.Message);
        first.Dispose();
        using var second = new JobStore(dir.Path);
        Assert.Empty(second.ListUnfinished());
    }
}
