namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// How the orchestrator calls a downstream diffusion or classifier service: deadlines per call, the circuit breaker
/// that stops calls to a service that keeps failing, and the chunk size of tensors it sends. Bindable from
/// configuration (every property has a default).
/// </summary>
public sealed record DownstreamOptions
{
    /// <summary>Deadline of the small unary calls (model info, token embedding, classifier info) and of opening a
    /// gradient session. They answer in milliseconds when the service is healthy.</summary>
    public TimeSpan InfoTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline of one compute call: a gradient-session forward or backward, a generation, a classifier
    /// loss-and-gradient or classification. Generous by default because large models on a CPU take minutes per image;
    /// the gradient-session stream itself has no deadline (it lives as long as the job).</summary>
    public TimeSpan ComputeTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long closing a gradient session waits for the service's goodbye before dropping the stream.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Share of transient failures among the calls of <see cref="SamplingDuration"/> that opens the circuit.</summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>Calls needed within <see cref="SamplingDuration"/> before the ratio counts (at least 2).</summary>
    public int MinimumThroughput { get; init; } = 4;

    /// <summary>The window over which failures are counted (at least 0.5 s).</summary>
    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an open circuit refuses calls at once before letting one trial call through (at least 0.5 s).</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Largest chunk of tensor bytes per message, sent and asked for (1 MiB; at most 4 MiB, the services' cap).</summary>
    public int MaxChunkBytes { get; init; } = 1 << 20;

    public static DownstreamOptions Default { get; } = new();

    /// <summary>These options, or an <see cref="ArgumentException"/> naming the setting that is out of range.</summary>
    public DownstreamOptions Validated()
    {
        static void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
                throw new ArgumentException($"{name} must be positive; it is {value}.");
        }
        Positive(InfoTimeout, nameof(InfoTimeout));
        Positive(ComputeTimeout, nameof(ComputeTimeout));
        Positive(CloseTimeout, nameof(CloseTimeout));
        if (!(FailureRatio > 0 && FailureRatio <= 1))
            throw new ArgumentException($"{nameof(FailureRatio)} must be in (0, 1]; it is {FailureRatio}.");
        if (MinimumThroughput < 2)
            throw new ArgumentException($"{nameof(MinimumThroughput)} must be at least 2; it is {MinimumThroughput}.");
        if (SamplingDuration < TimeSpan.FromMilliseconds(500))
            throw new ArgumentException($"{nameof(SamplingDuration)} must be at least 0.5 s; it is {SamplingDuration}.");
        if (BreakDuration < TimeSpan.FromMilliseconds(500))
            throw new ArgumentException($"{nameof(BreakDuration)} must be at least 0.5 s; it is {BreakDuration}.");
        if (MaxChunkBytes < 1 || MaxChunkBytes > 4 << 20)
            throw new ArgumentException($"{nameof(MaxChunkBytes)} must be 1..{4 << 20} bytes; it is {MaxChunkBytes}.");
        return this;
    }
}
