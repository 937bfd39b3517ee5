using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Tests.Services.Classifier;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace DiscriminativeTokens.Tests.Services;

/// <summary>Each service starts as its own process on a free loopback port, answers health and reflection, and stops on SIGTERM.</summary>
public class ServiceProcessTests
{
    public static TheoryData<string, string, string, string[]> Services => new()
    {
        // The diffusion service needs a model; it reports SERVING once the model has loaded.
        { "DiffusionService", "DiffusionService", "dct.diffusion.v1.DiffusionService", ["--Diffusion:Model", RepositoryPaths.SdTiny] },
        // The classifier service needs a classifier; it reports SERVING once the model has loaded.
        { "ClassifierService", "ClassifierService", "dct.classifier.v1.ClassifierService", TinyClassifier.ServiceArguments },
        { "Orchestrator", "Orchestrator", "dct.orchestrator.v1.OrchestratorService", [] },
    };

    [Theory]
    [MemberData(nameof(Services))]
    public async Task StartsAnswersHealthAndReflectionAndStopsOnSigterm(string folder, string name, string grpcService, string[] arguments)
    {
        await using var service = await ServiceProcess.StartAsync(folder, name, arguments);
        Assert.StartsWith("http://127.0.0.1:", service.Address);
        await service.WaitForServingAsync();

        var health = new Health.HealthClient(service.Channel);
        var overall = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);

        var reflection = new ServerReflection.ServerReflectionClient(service.Channel);
        using var call = reflection.ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(10));
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var listed = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains(grpcService, listed);
        Assert.Contains("grpc.health.v1.Health", listed);

        // The call-logging interceptor writes one line per call with its duration.
        await WaitForAsync(() => service.Output.Contains("/grpc.health.v1.Health/Check OK in"));

        int exitCode = await service.StopAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, exitCode);
        Assert.Contains("Stopped", service.Output);
    }

    /// <summary>
    /// Without a model the diffusion service stays up, reports NOT_SERVING and answers every RPC with
    /// FAILED_PRECONDITION saying how to configure one (retrying would not help, so not UNAVAILABLE).
    /// </summary>
    [Fact]
    public async Task TheDiffusionServiceWithoutAModelIsNotServingAndSaysHowToConfigureOne()
    {
        await using var service = await ServiceProcess.StartAsync("DiffusionService", "DiffusionService");
        var health = new Health.HealthClient(service.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
                     await WaitForHealthAsync(health, HealthCheckResponse.Types.ServingStatus.NotServing));

        var client = new DiscriminativeTokens.Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient(service.Channel);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.GetModelInfoAsync(new(), deadline: DateTime.UtcNow.AddSeconds(10)));
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("--Diffusion:Model", error.Status.Detail);
        await WaitForAsync(() => service.Output.Contains("No model is configured"));

        // Reflection and health still answer: the process is up, only the model is missing.
        Assert.Null(service.ExitCode);
    }

    /// <summary>A model that fails to load leaves the process up, NOT_SERVING, with the reason in every RPC's status.</summary>
    [Fact]
    public async Task TheDiffusionServiceReportsWhyItsModelFailedToLoad()
    {
        string missing = Path.Combine(Path.GetTempPath(), "dct-no-such-model-" + Guid.NewGuid().ToString("N"));
        await using var service = await ServiceProcess.StartAsync("DiffusionService", "DiffusionService", "--Diffusion:Model", missing);
        var health = new Health.HealthClient(service.Channel);
        var client = new DiscriminativeTokens.Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient(service.Channel);
        await WaitForAsync(() => service.Output.Contains("could not be loaded"), TimeSpan.FromSeconds(30));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
                     (await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Status);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = client.Generate(new() { Sampling = new() { Prompt = "a cat" } }, deadline: DateTime.UtcNow.AddSeconds(10));
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(missing, error.Status.Detail);
        Assert.Contains("does not exist", error.Status.Detail);
        Assert.Null(service.ExitCode);
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> WaitForHealthAsync(
        Health.HealthClient health, HealthCheckResponse.Types.ServingStatus expected)
    {
        var status = HealthCheckResponse.Types.ServingStatus.Unknown;
        for (int i = 0; i < 300 && status != expected; i++)
        {
            if (i > 0) await Task.Delay(100);
            status = (await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Status;
        }
        return status;
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(condition());
    }
}
