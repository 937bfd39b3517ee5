using System.Runtime;
using DiscriminativeTokens.Torch;

namespace DiscriminativeTokens.Tests.Torch;

// A no-GC region is process-wide: other tests allocating meanwhile would end it early, so these run alone.
[CollectionDefinition(nameof(NoCollectionTests), DisableParallelization = true)]
public sealed class NoCollectionTestsRunAlone;

[Collection(nameof(NoCollectionTests))]
public sealed class NoCollectionTests
{
    [Fact]
    public void Runs_the_work_without_a_collection_and_restores_the_mode()
    {
        var before = GCSettings.LatencyMode;
        GCLatencyMode during = before;
        int atStart = -1, atEnd = -2;
        NoCollection.Run(() =>
        {
            atStart = GC.CollectionCount(0);
            during = GCSettings.LatencyMode;
            for (int i = 0; i < 1000; i++) GC.KeepAlive(new byte[1024]);   // 1 MB, well inside the budget
            atEnd = GC.CollectionCount(0);
        });
        Assert.Equal(GCLatencyMode.NoGCRegion, during);
        Assert.Equal(atStart, atEnd);
        Assert.Equal(before, GCSettings.LatencyMode);
    }

    [Fact]
    public void Concurrent_callers_take_turns_and_an_exception_ends_the_region()
    {
        var before = GCSettings.LatencyMode;
        Parallel.For(0, 8, _ => NoCollection.Run(() => Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode)));
        Assert.Throws<InvalidOperationException>(() => NoCollection.Run(() => throw new InvalidOperationException("boom")));
        Assert.Equal(before, GCSettings.LatencyMode);
        NoCollection.Run(() => { });   // a new region can start after the failed one
    }

    [Fact]
    public void Work_that_outgrows_the_budget_still_completes()
    {
        var before = GCSettings.LatencyMode;
        long total = 0;
        NoCollection.Run(() =>
        {
            for (int i = 0; i < 64; i++) total += GC.AllocateUninitializedArray<byte>(1024 * 1024).Length;   // 64 MB: the runtime collects anyway
        });
        Assert.Equal(64L * 1024 * 1024, total);
        Assert.Equal(before, GCSettings.LatencyMode);
    }
}
