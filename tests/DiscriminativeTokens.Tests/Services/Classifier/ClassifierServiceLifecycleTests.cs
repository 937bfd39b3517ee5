using DiscriminativeTokens.ClassifierService;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Classifier.V1;
using DiscriminativeTokens.Testing;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using static DiscriminativeTokens.Tests.Services.Classifier.ClassifierCalls;
using Client = DiscriminativeTokens.Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient;

namespace DiscriminativeTokens.Tests.Services.Classifier;

/// <summary>Loading, readiness and configuration of the classifier service, and frozen parameters behind gRPC.</summary>
public sealed class ClassifierServiceLifecycleTests
{
    [Fact]
    public async Task ABadModelPathLeavesTheProcessUpNotServingWithTheReason()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-such-classifier-{Guid.NewGuid():N}");
        await using var service = await ServiceProcess.StartAsync("ClassifierService", "ClassifierService",
            "--Classifier:Kind", "vit", "--Classifier:Path", missing, "--Classifier:Device", "cpu");
        for (int i = 0; i < 200 && !service.Output.Contains("failed to load"); i++) await Task.Delay(50);
        Assert.Contains("failed to load", service.Output);

        var health = await new Health.HealthClient(service.Channel).CheckAsync(new HealthCheckRequest(), deadline: Deadline);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, health.Status);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Client(service.Channel).GetInfoAsync(new GetInfoRequest(), deadline: Deadline));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains(missing, error.Status.Detail);

        Assert.Null(service.ExitCode);
        Assert.Equal(0, await service.StopAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task AnInvalidConfigurationStopsTheProcessWithEveryProblemNamed()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceProcess.StartAsync(
            "ClassifierService", "ClassifierService", "--Classifier:Kind", "vit", "--Classifier:MaxBatchSize", "0"));
        Assert.Contains("Classifier:Path is not set", error.Message);
        Assert.Contains("Classifier:MaxBatchSize is 0", error.Message);

        var unset = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceProcess.StartAsync("ClassifierService", "ClassifierService"));
        Assert.Contains("Classifier:Kind is not set", unset.Message);
    }

    [Fact]
    public async Task NoGradientAccumulatesOnTheServedParameters()
    {
        // Hosted in-process so the test can look at the served model's parameters after gRPC calls.
        await using var app = ClassifierServiceApp.Build(
            [.. TinyClassifier.ServiceArguments, "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning",
             "--Logging:LogLevel:Microsoft.Hosting.Lifetime", "Warning"]);
        await app.StartAsync();
        var loaded = app.Services.GetRequiredService<LoadedClassifier>();
        for (int i = 0; i < 600 && !loaded.IsLoaded; i++) await Task.Delay(50);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var channel = DctChannel.Create(address);
        var client = new Client(channel);

        using var images = Images(2, 40, 40);
        using (var first = await LossAndGradientAsync(client, images, [1, 2]))
        using (var second = await LossAndGradientAsync(client, images, [1, 2]))
        {
            Assert.True(first.Gradient.Equals(second.Gradient), "a second call changed the gradient: state leaked between calls");
        }

        var parameters = loaded.Pipeline.Model.parameters().ToList();
        Assert.NotEmpty(parameters);
        Assert.All(parameters, p =>
        {
            Assert.False(p.requires_grad);
            Assert.True(p.grad is null || p.grad.IsInvalid, "a frozen parameter received a gradient");
        });
        await app.StopAsync();
    }
}
