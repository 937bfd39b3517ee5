using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Orchestration.Backends;
using Grpc.Core;
using Grpc.Net.Client;
using Polly;
using Polly.CircuitBreaker;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// One downstream service as a backend sees it: its channel and its circuit breaker. Every call of the backend runs
/// through <see cref="CallAsync{T}"/>, which turns whatever went wrong into a <see cref="BackendException"/> naming the
/// service and address, and which the breaker watches.
/// </summary>
/// <remarks>
/// The channel has no gRPC retry or hedging policy (DctChannel sets no service config): retries belong to the
/// training loop, which redoes a whole micro-step, and stacking gRPC's retries under it would multiply the attempts
/// a dead service receives. No retry strategy is added here either, for the same reason.
/// </remarks>
internal sealed class DownstreamConnection : IDisposable
{
    private readonly ResiliencePipeline _breaker;
    private readonly Lock _gate = new();
    private string _openedBy = "";
    private DateTimeOffset _openUntil;
    private bool _disposed;

    public DownstreamConnection(string kind, string name, string address, DownstreamOptions? options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        Kind = kind;
        Name = name;
        Address = address;
        Options = (options ?? DownstreamOptions.Default).Validated();
        Channel = DctChannel.Create(address);
        _breaker = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = Options.FailureRatio,
                MinimumThroughput = Options.MinimumThroughput,
                SamplingDuration = Options.SamplingDuration,
                BreakDuration = Options.BreakDuration,
                // Only a sick service opens the circuit; a bad request is the caller's problem, not the service's.
                ShouldHandle = new PredicateBuilder().Handle<BackendException>(e => e.IsTransient),
                OnOpened = args =>
                {
                    lock (_gate)
                    {
                        _openedBy = args.Outcome.Exception is BackendException b ? b.Detail : args.Outcome.Exception?.Message ?? "";
                        _openUntil = DateTimeOffset.UtcNow + args.BreakDuration;
                    }
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>"diffusion" or "classifier".</summary>
    public string Kind { get; }
    public string Name { get; }
    public string Address { get; }
    public DownstreamOptions Options { get; }
    public GrpcChannel Channel { get; }

    public DateTime InfoDeadline => DateTime.UtcNow + Options.InfoTimeout;
    public DateTime ComputeDeadline => DateTime.UtcNow + Options.ComputeTimeout;

    /// <summary>
    /// Runs one call through the circuit breaker. RPC failures become <see cref="BackendException"/>s; a cancellation
    /// the caller asked for stays an <see cref="OperationCanceledException"/> and does not count as a failure.
    /// </summary>
    public async Task<T> CallAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            return await _breaker.ExecuteAsync(async token =>
            {
                try
                {
                    return await call(token).ConfigureAwait(false);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && token.IsCancellationRequested)
                {
                    throw new OperationCanceledException($"{operation} was cancelled.", e, token);
                }
                catch (RpcException e)
                {
                    throw Failure(operation, e);
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw Failure(BackendFailure.Transient, operation, $"the connection failed: {e.Message}", e);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException e)
        {
            throw CircuitOpen(operation, e);
        }
    }

    public Task CallAsync(string operation, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        CallAsync(operation, async token =>
        {
            await call(token).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>A failed RPC as a backend failure: its code, classified, and the service's message.</summary>
    public BackendException Failure(string operation, RpcException e)
    {
        var failure = DownstreamFailures.Classify(e);
        string code = DownstreamFailures.CodeName(e.StatusCode);
        string detail = string.IsNullOrEmpty(e.Status.Detail) ? "(no message)" : e.Status.Detail;
        // The service dropping a call it had accepted (e.g. while shutting down) is as transient as a refused one.
        if (e.StatusCode == StatusCode.Cancelled) failure = BackendFailure.Transient;
        return Failure(failure, operation, $"{code}: {detail}", e);
    }

    /// <summary>A failure status sent inside a stream (google.rpc.Status), classified as a call's status would be.</summary>
    public BackendException Failure(string operation, int code, string message) =>
        Failure(DownstreamFailures.Classify((StatusCode)code), operation,
                $"{DownstreamFailures.CodeName((StatusCode)code)}: {message}");

    public BackendException Failure(BackendFailure failure, string operation, string detail, Exception? inner = null) =>
        new(Name, failure, $"{operation} on the {Kind} service at {Address} failed with {detail}", inner);

    private BackendException CircuitOpen(string operation, BrokenCircuitException e)
    {
        string openedBy;
        DateTimeOffset until;
        lock (_gate)
        {
            openedBy = _openedBy;
            until = _openUntil;
        }
        var wait = e.RetryAfter ?? until - DateTimeOffset.UtcNow;
        if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
        var retryAt = DateTimeOffset.UtcNow + wait;
        return new BackendException(Name, BackendFailure.Transient,
            $"{operation} was not sent: the circuit breaker for the {Kind} service at {Address} is open after repeated " +
            $"transient failures (last: {openedBy}); calls fail at once until {retryAt:HH:mm:ss} UTC (in {wait.TotalSeconds:F1} s), " +
            "when one trial call is let through.", e);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Channel.Dispose();
    }
}
