using DiscriminativeTokens.Orchestration.Backends;
using Polly;
using Polly.Retry;

namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// The Polly retry around one micro-step: transient backend failures (<see cref="BackendException.IsTransient"/>)
/// are retried with exponential backoff and jitter; everything else, cancellation included, passes through.
/// </summary>
internal static class MicroStepRetryPipeline
{
    /// <summary><paramref name="beforeRedo"/> runs after a failed attempt, before the delay and the redo.</summary>
    public static ResiliencePipeline<MicroStepResult> Build(MicroStepRetryOptions options, TimeProvider time,
                                                             Func<RetryReport, ValueTask> beforeRedo)
    {
        if (options.MaxRetryAttempts < 1)
            throw new ArgumentException($"MaxRetryAttempts must be at least 1; it is {options.MaxRetryAttempts}.", nameof(options));
        if (options.BaseDelay <= TimeSpan.Zero || options.MaxDelay < options.BaseDelay)
            throw new ArgumentException($"Retry delays must be positive with MaxDelay ≥ BaseDelay; they are {options.BaseDelay} " +
                                        $"and {options.MaxDelay}.", nameof(options));
        var retry = new RetryStrategyOptions<MicroStepResult>
        {
            ShouldHandle = new PredicateBuilder<MicroStepResult>().Handle<BackendException>(e => e.IsTransient),
            MaxRetryAttempts = options.MaxRetryAttempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.BaseDelay,
            MaxDelay = options.MaxDelay,
            OnRetry = args =>
            {
                var failure = args.Outcome.Exception as BackendException;
                var report = new RetryReport(failure?.Service ?? "unknown", args.AttemptNumber + 1, args.RetryDelay,
                                             failure?.Detail ?? args.Outcome.Exception?.Message ?? "unknown failure");
                return beforeRedo(report);
            },
        };
        return new ResiliencePipelineBuilder<MicroStepResult> { TimeProvider = time }.AddRetry(retry).Build();
    }
}
