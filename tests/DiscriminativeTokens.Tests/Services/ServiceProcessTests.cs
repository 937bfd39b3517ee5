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
        { "DiffusionService", "DiffusionService", "dct.diffusion.v1.DiffusionService", [] },
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

    [Fact]
    public async Task AnUnimplementedRpcAnswersUnimplementedAndTheServiceKeepsServing()
    {
        await using var service = await ServiceProcess.StartAsync("DiffusionService", "DiffusionService");
        var client = new DiscriminativeTokens.Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient(service.Channel);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.GetModelInfoAsync(new(), deadline: DateTime.UtcNow.AddSeconds(10)));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);

        var health = new Health.HealthClient(service.Channel);
        var status = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, status.Status);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (int i = 0; i < 100 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition());
    }
}
