using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Tests;

/// <summary>Failing backends: a transient failure redoes the micro-step from its start and changes nothing; any
/// other failure, exhausted retries and cancellation end the run.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class MicroStepRetryTests(TinyModels models)
{
    /// <summary>Call 5 at each point is in epoch 1, micro-step 1 (3 micro-steps per epoch); with overlap on, forward
    /// call 5 is the prefetched forward of micro-step 1. Each failure comes after the real call ran (a lost answer).</summary>
    [Theory]
    [InlineData(FaultPoint.Forward, true)]
    [InlineData(FaultPoint.Forward, false)]
    [InlineData(FaultPoint.Classifier, true)]
    [InlineData(FaultPoint.Backward, true)]
    [InlineData(FaultPoint.Backward, false)]
    public async Task ATransientFailureMidEpochIsRedoneAndEndsWithTheUnfailingToken(FaultPoint point, bool overlap)
    {
        var reference = await models.ReferenceRun; // overlap on; off gives the identical token (see TrainingLoopTests)
        var plan = new FaultPlan(point, onCall: 5);
        var diffusion = new FaultyDiffusionBackend(models.Diffusion, plan);
        var classifier = new FaultyClassifierBackend(models.ClassifierBackend, plan);

        var run = await TrainingRuns.RunAsync(diffusion, classifier, TrainingRuns.Small(overlap));

        Assert.Equal(1, plan.Failures);
        var retry = Assert.Single(run.Observer.Retries);
        Assert.Equal(point == FaultPoint.Classifier ? classifier.Name : diffusion.Name, retry.Service);
        Assert.Equal(1, retry.Attempt);
        Assert.Contains("injected", retry.Reason);
        Assert.True(retry.Delay <= TrainingRuns.FastRetries.MaxDelay);
        Assert.Equal(4, diffusion.SessionsOpened); // one per epoch, and one more for the redo

        Assert.Equal(reference.Outcome.BestToken, run.Outcome.BestToken);
        Assert.Equal(reference.LastCheckpoint.Token, run.LastCheckpoint.Token);
        Assert.Equal(reference.LastCheckpoint.ExpAvg, run.LastCheckpoint.ExpAvg);
        Assert.Equal(reference.Observer.MicroSteps.Select(m => (m.Epoch, m.Index, m.Loss)),
                     run.Observer.MicroSteps.Select(m => (m.Epoch, m.Index, m.Loss)));
    }

    [Theory]
    [InlineData(FaultPoint.Forward, BackendFailure.InvalidRequest)]
    [InlineData(FaultPoint.Classifier, BackendFailure.Internal)]
    [InlineData(FaultPoint.Backward, BackendFailure.Precondition)]
    public async Task ANonTransientFailureEndsTheRun(FaultPoint point, BackendFailure failure)
    {
        var plan = new FaultPlan(point, onCall: 2, failure);
        var observer = new RecordingObserver();
        var settings = TrainingRuns.Small() with { Steps = 2 };
        var e = await Assert.ThrowsAsync<BackendException>(() => TrainingRuns.RunAsync(
            new FaultyDiffusionBackend(models.Diffusion, plan), new FaultyClassifierBackend(models.ClassifierBackend, plan),
            settings, observer: observer));
        Assert.Equal(failure, e.Failure);
        Assert.Empty(observer.Retries);
        Assert.Empty(observer.Epochs);
        Assert.Single(observer.MicroSteps);
    }

    [Fact]
    public async Task ExhaustedRetriesEndTheRunWithTheTransientFailure()
    {
        var plan = new FaultPlan(FaultPoint.Backward, onCall: 1, fromThenOn: true);
        var observer = new RecordingObserver();
        var retry = TrainingRuns.FastRetries with { MaxRetryAttempts = 2 };
        var e = await Assert.ThrowsAsync<BackendException>(() => TrainingRuns.RunAsync(
            new FaultyDiffusionBackend(models.Diffusion, plan), models.ClassifierBackend,
            TrainingRuns.Small() with { Steps = 2 }, observer: observer, retry: retry));
        Assert.True(e.IsTransient);
        Assert.Equal([1, 2], observer.Retries.Select(r => r.Attempt));
        Assert.Equal(3, plan.Failures);
        Assert.Empty(observer.MicroSteps);
    }

    [Fact]
    public async Task CancellationEndsTheRunPromptly()
    {
        using var cancel = new CancellationTokenSource();
        var observer = new RecordingObserver { AfterMicroStep = _ => cancel.Cancel() };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TrainingRuns.RunAsync(
            models.Diffusion, models.ClassifierBackend, TrainingRuns.Small() with { Steps = 2 }, observer: observer,
            cancellationToken: cancel.Token));
        Assert.Single(observer.MicroSteps);
        Assert.Empty(observer.Checkpoints);
        // Every session of the cancelled run was closed, the prefetched forward's included.
        Assert.Equal(0, models.Engine.Sessions.Count);
    }
}
