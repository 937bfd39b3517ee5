using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Grpc.Core;
using Polly;
using Polly.Retry;

namespace DiscriminativeTokens.Cli;

/// <summary>
/// Follows a job's event stream to its end. When the connection drops (orchestrator restarting, network), it
/// re-attaches after the last sequence number it saw, so no event is lost or shown twice.
/// </summary>
public sealed class JobWatcher(OrchestratorService.OrchestratorServiceClient client, TextWriter log)
{
    /// <summary>How long to keep trying to re-attach before giving up.</summary>
    public TimeSpan ReconnectFor { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Calls <paramref name="onEvent"/> for each event after <paramref name="afterSequence"/> and returns
    /// the job's terminal event (finished, failed or cancelled).</summary>
    public async Task<JobEvent> WatchAsync(string jobId, ulong afterSequence, Action<JobEvent> onEvent,
                                           CancellationToken cancellation)
    {
        ulong last = afterSequence;
        JobEvent? terminal = null;
        // Re-attach with backoff for as long as the outage lasts up to ReconnectFor; any event restarts the clock.
        var sinceLastContact = System.Diagnostics.Stopwatch.StartNew();
        var reconnect = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => IsConnectionLoss(e) && sinceLastContact.Elapsed < ReconnectFor),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(10),
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    log.WriteLine($"connection to the orchestrator lost ({(args.Outcome.Exception as RpcException)?.StatusCode}); " +
                                  $"re-attaching after event {last} in {args.RetryDelay.TotalSeconds:F1} s");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        await reconnect.ExecuteAsync(async token =>
        {
            using var call = client.WatchJob(new WatchJobRequest { JobId = jobId, AfterSequence = last }, cancellationToken: token);
            await foreach (var e in call.ResponseStream.ReadAllAsync(token))
            {
                sinceLastContact.Restart();
                if (e.Sequence <= last) continue;
                last = e.Sequence;
                onEvent(e);
                if (JobEventFormatter.IsTerminal(e)) terminal = e;
            }
            if (terminal is null)
                throw new RpcException(new Status(StatusCode.Unavailable, "the event stream ended before the job did"));
        }, cancellation);
        return terminal!;
    }

    private static bool IsConnectionLoss(RpcException e) => e.StatusCode is StatusCode.Unavailable or StatusCode.Internal
        or StatusCode.Unknown or StatusCode.Aborted;
}
