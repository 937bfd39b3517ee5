using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Training;
using Polly;
using Polly.Retry;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>Helpers for the few backend calls a job makes outside the loop (model facts at start, disposal).</summary>
internal static class BackendCalls
{
    /// <summary>
    /// Retries transient failures of a start-up call with the loop's backoff, so a job that resumes while a service
    /// is still starting waits for it instead of failing.
    /// </summary>
    public static ResiliencePipeline StartupRetry(MicroStepRetryOptions options) =>
        new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<BackendException>(e => e.IsTransient),
                MaxRetryAttempts = Math.Max(1, options.MaxRetryAttempts),
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .Build();

    public static async ValueTask DisposeAsync(object? backend)
    {
        switch (backend)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    public static string Label(ClassifierModelInfo info, int classId) =>
        classId >= 0 && classId < info.Labels.Count ? info.Labels[classId] : $"class {classId}";
}
