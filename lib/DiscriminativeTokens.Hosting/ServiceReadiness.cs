using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DiscriminativeTokens.Hosting;

/// <summary>
/// Whether the service can do its work (model loaded, store open, ...). The gRPC health service reports NOT_SERVING
/// until the service marks itself ready, and again after it marks itself failed.
/// </summary>
public sealed class ServiceReadiness : IHealthCheck
{
    private readonly Lock _gate = new();
    private HealthCheckResult _state = HealthCheckResult.Unhealthy("starting");

    public bool IsReady
    {
        get { lock (_gate) return _state.Status == HealthStatus.Healthy; }
    }

    public string Description
    {
        get { lock (_gate) return _state.Description ?? ""; }
    }

    public void MarkReady(string description)
    {
        lock (_gate) _state = HealthCheckResult.Healthy(description);
    }

    public void MarkFailed(string reason, Exception? error = null)
    {
        lock (_gate) _state = HealthCheckResult.Unhealthy(reason, error);
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(_state);
    }
}
