using DiscriminativeTokens.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// Builds and runs the classifier service process: the shared host (<see cref="DctServiceHost"/>), the
/// <c>Classifier</c> options checked at startup, the classifier loaded in the background, and the gRPC service.
/// Public so benchmarks and tests can host it in-process (optionally with their own <see cref="ClassifierFactory"/>).
/// </summary>
public static class ClassifierServiceApp
{
    public const int DefaultPort = 5102;

    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = DctServiceHost.CreateBuilder(args, DefaultPort);
        builder.Services.AddOptions<ClassifierOptions>().BindConfiguration(ClassifierOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ClassifierOptions>, ClassifierOptionsValidator>();
        builder.Services.TryAddSingleton<ClassifierFactory>(_ => ClassifierConfiguration.Load);
        builder.Services.AddSingleton<LoadedClassifier>();
        builder.Services.AddSingleton<ClassifierCallGate>();
        builder.Services.AddHostedService<ClassifierLoadingService>();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapGrpcService<ClassifierGrpcService>();
        app.MapDctInfrastructure();
        return app;
    }

    /// <summary>Runs until SIGTERM/Ctrl+C. Returns 2, with the problems on stderr, when the configuration is invalid.</summary>
    public static int Run(WebApplication app)
    {
        try
        {
            app.Run();
            return 0;
        }
        catch (OptionsValidationException e)
        {
            Console.Error.WriteLine("ClassifierService: the configuration is invalid:");
            foreach (string failure in e.Failures)
                Console.Error.WriteLine($"  {failure}");
            Console.Error.WriteLine("Example: --Classifier:Kind vit --Classifier:Path <ViTForImageClassification folder>");
            return 2;
        }
    }
}
