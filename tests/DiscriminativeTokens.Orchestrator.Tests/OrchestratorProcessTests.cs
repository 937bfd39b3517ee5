using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Testing;
using Grpc.Core;

namespace DiscriminativeTokens.Orchestrator.Tests;

/// <summary>The Orchestrator process as a user runs it: it starts, reports SERVING once its job store is open, and
/// answers over gRPC.</summary>
public class OrchestratorProcessTests
{
    [Fact]
    public async Task TheProcessListsItsEndpointsAndRefusesBadTrainingRequestsOverGrpc()
    {
        using var dir = new TempDirectory();
        await using var service = await ServiceProcess.StartAsync("Orchestrator", "Orchestrator",
            "--Orchestrator:DataDirectory", dir.Path,
            "--Orchestrator:Endpoints:Diffusion:dead", "http://127.0.0.1:1",
            "--Orchestrator:ServiceProbeTimeout", "00:00:02");
        await service.WaitForServingAsync(TimeSpan.FromSeconds(60));
        var client = new OrchestratorService.OrchestratorServiceClient(service.Channel);
        DateTime Deadline() => DateTime.UtcNow.AddSeconds(30);

        var endpoints = await client.ListEndpointsAsync(new ListEndpointsRequest(), deadline: Deadline());
        Assert.False(endpoints.ArbitraryAddressesAllowed);
        Assert.Equal([("dead", "http://127.0.0.1:1"), ("default", "http://127.0.0.1:5101")],
                     endpoints.Diffusion.Select(e => (e.Name, e.Address)));
        Assert.Equal([("default", "http://127.0.0.1:5102")], endpoints.Classifiers.Select(e => (e.Name, e.Address)));

        async Task Refused(TrainingConfig config, StatusCode code, string message)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () =>
                await client.StartTrainingAsync(new StartTrainingRequest { Config = config }, deadline: Deadline()));
            Assert.Equal(code, error.StatusCode);
            Assert.Contains(message, error.Status.Detail);
        }

        var target = new TargetClass { ClassId = 0 };
        await Refused(new TrainingConfig { Target = target, PromptTemplates = { "A photo of {class}" } }, StatusCode.InvalidArgument, "has no {token}");
        await Refused(new TrainingConfig { Target = target, GuidanceScale = 100 }, StatusCode.InvalidArgument, "guidance_scale = 100");
        await Refused(new TrainingConfig { Target = target, Diffusion = new ServiceRef { Endpoint = "imagenet" } },
                      StatusCode.InvalidArgument, "Configured: 'dead', 'default'");
        await Refused(new TrainingConfig { Target = target, Diffusion = new ServiceRef { Address = "http://10.1.2.3:5101" } },
                      StatusCode.PermissionDenied, "AllowArbitraryAddresses");
        await Refused(new TrainingConfig { Target = target, Diffusion = new ServiceRef { Endpoint = "dead" } },
                      StatusCode.FailedPrecondition, "http://127.0.0.1:1");

        var jobs = await client.ListJobsAsync(new ListJobsRequest(), deadline: Deadline());
        Assert.Empty(jobs.Jobs);
        var notFound = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var watch = client.WatchJob(new WatchJobRequest { JobId = "nope" }, deadline: Deadline());
            await watch.ResponseStream.MoveNext();
        });
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        var noResult = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.GetTrainingResultAsync(new GetTrainingResultRequest { JobId = "nope" }, deadline: Deadline()));
        Assert.Equal(StatusCode.NotFound, noResult.StatusCode);
        Assert.True(File.Exists(Path.Combine(dir.Path, "jobs.db")));

        Assert.Equal(0, await service.StopAsync(TimeSpan.FromSeconds(20)));
    }
}
