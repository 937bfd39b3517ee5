namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>What holds a slot of the <see cref="ConcurrencyLimiter"/>.</summary>
public enum WorkKind
{
    GradientSession,
    Generation,
}

/// <summary>
/// At most <c>capacity</c> gradient sessions and generations at once. Acquiring never waits: beyond the limit the
/// caller is refused at once (ResourceExhausted), so clients back off instead of hanging on a busy service.
/// </summary>
public sealed class ConcurrencyLimiter(int capacity)
{
    private readonly Lock _gate = new();
    private readonly int[] _active = new int[Enum.GetValues<WorkKind>().Length];

    public int Capacity { get; } = capacity >= 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public int Active(WorkKind kind)
    {
        lock (_gate) return _active[(int)kind];
    }

    /// <summary>A slot until the lease is disposed, or <see cref="RequestRejectedException"/> (ResourceExhausted).</summary>
    public IDisposable Acquire(WorkKind kind)
    {
        lock (_gate)
        {
            int total = _active.Sum();
            if (total >= Capacity)
                throw new RequestRejectedException(RejectionKind.ResourceExhausted,
                    $"The diffusion service is already running {Describe()}, its limit of {Capacity} " +
                    "(Diffusion:MaxConcurrent). Retry later, close idle gradient sessions, or start the service with a " +
                    "higher Diffusion:MaxConcurrent.");
            _active[(int)kind]++;
        }
        return new Lease(this, kind);
    }

    private string Describe()
    {
        int sessions = _active[(int)WorkKind.GradientSession], generations = _active[(int)WorkKind.Generation];
        return $"{sessions} gradient session{(sessions == 1 ? "" : "s")} and {generations} generation{(generations == 1 ? "" : "s")}";
    }

    private void Release(WorkKind kind)
    {
        lock (_gate) _active[(int)kind]--;
    }

    private sealed class Lease(ConcurrencyLimiter owner, WorkKind kind) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) owner.Release(kind);
        }
    }
}
