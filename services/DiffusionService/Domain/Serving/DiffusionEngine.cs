using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Schedulers;
using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>
/// Everything the diffusion service serves for one loaded model: validation, the concurrency limit, generation and
/// gradient sessions. No transport here; the gRPC layer translates.
/// </summary>
public sealed class DiffusionEngine : IDisposable
{
    public DiffusionEngine(StableDiffusionModel model, ServingLimits limits, TimeProvider? time = null)
    {
        Model = model;
        Limits = limits.Validated();
        Validator = new SamplingValidator(model, Limits);
        Limiter = new ConcurrencyLimiter(Limits.MaxConcurrent);
        Generation = new ImageGeneration(model);
        Sessions = new GradientSessionManager(model, Validator, Limiter, Limits, time);
        Description = Describe(model);
    }

    public StableDiffusionModel Model { get; }
    public ServingLimits Limits { get; }
    public SamplingValidator Validator { get; }
    public ConcurrencyLimiter Limiter { get; }
    public ImageGeneration Generation { get; }
    public GradientSessionManager Sessions { get; }
    public ModelDescription Description { get; }

    public ServiceLoad Load => new(Limiter.Active(WorkKind.GradientSession), Limiter.Active(WorkKind.Generation), Sessions.OpenForwards);

    private static ModelDescription Describe(StableDiffusionModel model)
    {
        using var scheduler = model.CreateScheduler();
        string prediction = scheduler.Options.PredictionType switch
        {
            PredictionType.Epsilon => "epsilon",
            PredictionType.VPrediction => "v_prediction",
            PredictionType.Sample => "sample",
            var other => other.ToString(),
        };
        var device = model.Device;
        string deviceName = device.type == DeviceType.CPU ? "cpu" : $"{device.type.ToString().ToLowerInvariant()}:{Math.Max(0, device.index)}";
        return new ModelDescription(
            model.ModelId, model.TextHiddenSize, model.SampleSize, model.VaeScaleFactor, model.Vae.Config.LatentChannels,
            scheduler.ClassName, SchedulerFactory.ShortNames, prediction, model.Tokenizer.ModelMaxLength,
            model.TextEncoderSha256, deviceName);
    }

    /// <summary>
    /// Releases every session; frees the model only when no computation is still running on it (one that is would
    /// crash on freed weights; at process exit the memory goes anyway).
    /// </summary>
    public void Dispose()
    {
        Sessions.Dispose();
        if (Limiter.Active(WorkKind.GradientSession) == 0 && Limiter.Active(WorkKind.Generation) == 0)
            Model.Dispose();
    }
}
