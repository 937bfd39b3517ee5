using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Training;

namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>
/// Opens gradient sessions within the concurrency limit, keeps track of them, and releases sessions that stay idle
/// longer than <see cref="ServingLimits.SessionIdleTimeout"/> (a client that vanished without closing its stream).
/// </summary>
public sealed class GradientSessionManager : IDisposable
{
    private const int DefaultSteps = SamplingValidator.DefaultSteps;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, GradientSession> _sessions = [];
    private readonly StableDiffusionModel _model;
    private readonly TokenGradientSampler _sampler;
    private readonly SamplingValidator _validator;
    private readonly ConcurrencyLimiter _limiter;
    private readonly ServingLimits _limits;
    private readonly TimeProvider _time;
    private readonly ITimer _watchdog;
    private long _opened;

    public GradientSessionManager(StableDiffusionModel model, SamplingValidator validator, ConcurrencyLimiter limiter,
                                  ServingLimits limits, TimeProvider? time = null)
    {
        _model = model;
        _sampler = new TokenGradientSampler(model);
        _validator = validator;
        _limiter = limiter;
        _limits = limits;
        _time = time ?? TimeProvider.System;
        // Check often enough that a session outlives its timeout by at most a tenth of it (and by no more than 5 s).
        var period = TimeSpan.FromTicks(Math.Clamp(limits.SessionIdleTimeout.Ticks / 10, TimeSpan.FromMilliseconds(50).Ticks,
                                                   TimeSpan.FromSeconds(5).Ticks));
        _watchdog = _time.CreateTimer(_ => ExpireIdleSessions(), null, period, period);
    }

    /// <summary>Told about each session the idle watchdog released (with the number of forwards it still held).</summary>
    public event Action<GradientSession, int>? SessionExpired;

    public int Count
    {
        get { lock (_gate) return _sessions.Count; }
    }

    public int OpenForwards
    {
        get
        {
            GradientSession[] sessions;
            lock (_gate) sessions = [.. _sessions.Values];
            return sessions.Sum(s => s.OpenForwards);
        }
    }

    /// <summary>
    /// Checks the settings and opens a session, or refuses: InvalidArgument for bad settings, ResourceExhausted when
    /// the concurrency limit is reached. Dispose the session to close it.
    /// </summary>
    public GradientSession Open(SessionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _validator.CheckPlaceholder(settings.Placeholder, "open.placeholder");
        int differentiated = DifferentiatedCallsAtDefaultSteps(settings.GradientMode);
        var lease = _limiter.Acquire(WorkKind.GradientSession);
        string id = $"gs-{Interlocked.Increment(ref _opened)}-{Guid.NewGuid().ToString("N")[..8]}";
        var session = new GradientSession(id, settings, differentiated, _sampler, _limits, _time, lease);
        session.Freed += Forget;
        lock (_gate) _sessions.Add(id, session);
        return session;
    }

    private int DifferentiatedCallsAtDefaultSteps(GradientMode mode)
    {
        using var scheduler = _model.CreateScheduler();
        scheduler.SetTimesteps(DefaultSteps);
        int calls = scheduler.ModelCallsPerRun;
        return calls - mode.FirstDifferentiatedCall(DefaultSteps, calls);
    }

    private void Forget(GradientSession session)
    {
        lock (_gate) _sessions.Remove(session.Id);
    }

    private void ExpireIdleSessions()
    {
        GradientSession[] sessions;
        lock (_gate) sessions = [.. _sessions.Values];
        foreach (var session in sessions)
        {
            // A timer callback must not throw (it would end the process); a failure here only delays the release.
            try
            {
                int forwards = session.OpenForwards;
                if (session.ExpireIfIdle(_limits.SessionIdleTimeout))
                    SessionExpired?.Invoke(session, forwards);
            }
            catch (Exception e)
            {
                System.Diagnostics.Trace.TraceError($"Releasing idle gradient session {session.Id} failed: {e}");
            }
        }
    }

    /// <summary>Stops the watchdog and releases every session.</summary>
    public void Dispose()
    {
        _watchdog.Dispose();
        GradientSession[] sessions;
        lock (_gate) sessions = [.. _sessions.Values];
        foreach (var session in sessions) session.Dispose();
    }
}
