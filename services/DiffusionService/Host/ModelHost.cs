using System.Diagnostics;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Hosting;
using DiscriminativeTokens.Torch;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>
/// Loads the configured model in the background when the service starts and holds it for the RPCs. Health reports
/// NOT_SERVING until the model is loaded; when no model is configured or loading fails, the process stays up with
/// health NOT_SERVING and every RPC answers FAILED_PRECONDITION with the reason (while loading: UNAVAILABLE).
/// </summary>
public sealed class ModelHost(IConfiguration configuration, ServiceReadiness readiness, ILogger<ModelHost> logger)
    : BackgroundService
{
    private readonly Lock _gate = new();
    private DiffusionEngine? _engine;
    private (RejectionKind Kind, string Message) _unavailable = (RejectionKind.Unavailable, "The diffusion service is starting; retry shortly.");

    /// <summary>The engine, or the <see cref="RequestRejectedException"/> that says why there is none.</summary>
    public DiffusionEngine Engine
    {
        get
        {
            lock (_gate) return _engine ?? throw new RequestRejectedException(_unavailable.Kind, _unavailable.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        DiffusionOptions options;
        ServingLimits limits;
        try
        {
            options = configuration.GetSection(DiffusionOptions.Section).Get<DiffusionOptions>() ?? new DiffusionOptions();
            limits = options.ToLimits();
            if (options.Threads < 0)
                throw new ArgumentException($"Diffusion:Threads must be 0 (LibTorch's default) or positive; it is {options.Threads}.");
            IdleHeapTrim.Configure(options.TrimHeapWhenIdle);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            Fail($"The Diffusion configuration is invalid: {e.Message}", e);
            return;
        }

        if (string.IsNullOrWhiteSpace(options.Model))
        {
            Fail("No model is configured: start the service with --Diffusion:Model <diffusers folder or org/name[@revision] " +
                 "in the Hugging Face cache> (or set Diffusion__Model).", null);
            return;
        }

        SetUnavailable($"The model '{options.Model}' is still loading; retry shortly.");
        logger.LogInformation("Loading model {Model} (device {Device}{Variant})", options.Model, options.Device,
                              string.IsNullOrEmpty(options.Variant) ? "" : $", variant {options.Variant}");
        var start = Stopwatch.GetTimestamp();
        try
        {
            var engine = await Task.Factory.StartNew(() =>
            {
                if (options.Threads > 0) TorchSharp.torch.set_num_threads(options.Threads);
                var device = DeviceSelection.Parse(options.Device);
                var model = StableDiffusionModel.Load(options.Model, device, string.IsNullOrEmpty(options.Variant) ? null : options.Variant);
                try
                {
                    return new DiffusionEngine(model, limits);
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
            }, stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

            engine.Sessions.SessionExpired += (session, forwards) => logger.LogWarning(
                "Gradient session {Session} was idle for longer than {IdleTimeout} and was released ({Forwards} open " +
                "forward(s) freed)", session.Id, limits.SessionIdleTimeout, forwards);
            lock (_gate) _engine = engine;
            var d = engine.Description;
            string summary = $"model {d.ModelId} on {d.Device}: {d.Scheduler}, text hidden size {d.TextHiddenSize}, " +
                             $"{d.SampleSize}x{d.SampleSize} default, VAE factor {d.VaeScaleFactor}";
            readiness.MarkReady($"serving {summary}");
            logger.LogInformation("Loaded {Summary} in {Seconds:F1} s; serving (at most {MaxConcurrent} sessions and generations " +
                                  "at once, sessions idle for {IdleTimeout} are released, {Threads} LibTorch threads)",
                                  summary, Stopwatch.GetElapsedTime(start).TotalSeconds, limits.MaxConcurrent, limits.SessionIdleTimeout,
                                  TorchSharp.torch.get_num_threads());
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Fail($"The model '{options.Model}' could not be loaded: {e.Message}", e);
        }
    }

    private void SetUnavailable(string message)
    {
        lock (_gate) _unavailable = (RejectionKind.Unavailable, message);
        readiness.MarkFailed(message);
    }

    private void Fail(string reason, Exception? error)
    {
        lock (_gate) _unavailable = (RejectionKind.FailedPrecondition, reason);
        readiness.MarkFailed(reason, error);
        logger.LogError("{Reason} The service stays up and reports NOT_SERVING.", reason);
    }

    public override void Dispose()
    {
        DiffusionEngine? engine;
        lock (_gate)
        {
            engine = _engine;
            _engine = null;
            _unavailable = (RejectionKind.Unavailable, "The diffusion service is shutting down.");
        }
        engine?.Dispose();
        base.Dispose();
    }
}
