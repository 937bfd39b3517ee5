using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Hosting;
using Microsoft.Extensions.Options;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// Produces the served classifier from the options. The default reads the configured files
/// (<see cref="ClassifierConfiguration.Load"/>); benchmarks and tests may register another.
/// </summary>
public delegate ClassifierPipeline ClassifierFactory(ClassifierOptions options);

/// <summary>
/// Loads the classifier in the background once the host has started, so health answers NOT_SERVING while it loads,
/// SERVING when it is loaded, and NOT_SERVING again, with the reason logged and returned by every RPC, when it fails.
/// The process stays up either way.
/// </summary>
public sealed class ClassifierLoadingService(
    IOptions<ClassifierOptions> options,
    ClassifierFactory factory,
    LoadedClassifier loaded,
    ServiceReadiness readiness,
    ILogger<ClassifierLoadingService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(Load, stoppingToken);

    private void Load()
    {
        var settings = options.Value;
        string source = ClassifierConfiguration.Describe(settings);
        readiness.MarkFailed($"loading the classifier ({source})");
        logger.LogInformation("Loading the classifier: {Source}", source);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var pipeline = factory(settings);
            var info = pipeline.Info;
            loaded.SetLoaded(pipeline);
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            logger.LogInformation(
                "Classifier {ModelId} loaded in {Seconds:F1} s on {Device}: {Architecture}, {Classes} classes, preprocessing: {Preprocessing}",
                info.ModelId, seconds, pipeline.Model.WeightsDevice, info.Architecture, info.NumClasses, info.Preprocessing);
            readiness.MarkReady($"classifier {info.ModelId} loaded ({info.NumClasses} classes)");
        }
        catch (Exception e)
        {
            string reason = $"the classifier failed to load ({source}): {e.Message}";
            loaded.SetFailed(reason);
            readiness.MarkFailed(reason, e);
            logger.LogError(e, "The classifier failed to load ({Source}); the service stays up and answers UNAVAILABLE", source);
        }
    }
}
