using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Testing;
using Grpc.Core;
using Grpc.Health.V1;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>
/// One diffusion service process with the sd-tiny model, shared by the tests of the "diffusion service" collection
/// (which xunit runs one after another). Other limits get their own process through <see cref="StartAsync"/>.
/// </summary>
public sealed class DiffusionServiceFixture : IAsyncLifetime
{
    public ServiceProcess Service { get; private set; } = null!;
    public Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Service = await StartAsync();
        Client = new Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient(Service.Channel);
    }

    public async Task DisposeAsync() => await Service.DisposeAsync();

    /// <summary>Starts the service with sd-tiny and extra settings, and waits until it reports SERVING.</summary>
    public static async Task<ServiceProcess> StartAsync(params string[] settings)
    {
        var service = await ServiceProcess.StartAsync("DiffusionService", "DiffusionService",
                                                      ["--Diffusion:Model", RepositoryPaths.SdTiny, "--Diffusion:Device", "cpu",
                                                       // The tiny model's ops are too small to share between threads.
                                                       "--Diffusion:Threads", "1", .. settings]);
        try
        {
            await WaitForHealthAsync(service, HealthCheckResponse.Types.ServingStatus.Serving, TimeSpan.FromSeconds(60));
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    public static async Task WaitForHealthAsync(ServiceProcess service, HealthCheckResponse.Types.ServingStatus expected, TimeSpan timeout)
    {
        var health = new Health.HealthClient(service.Channel);
        var deadline = DateTime.UtcNow + timeout;
        HealthCheckResponse.Types.ServingStatus last = HealthCheckResponse.Types.ServingStatus.Unknown;
        while (DateTime.UtcNow < deadline)
        {
            last = (await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Status;
            if (last == expected) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"Health stayed {last}, not {expected}, for {timeout}. Output:\n{service.Output}");
    }

    /// <summary>The service still answers after whatever the test did to it.</summary>
    public async Task AssertStillServingAsync()
    {
        var info = await Client.GetModelInfoAsync(new GetModelInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(32, info.TextHiddenSize);
        var health = new Health.HealthClient(Service.Channel);
        var status = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, status.Status);
    }

    public static DateTime Deadline(int seconds = 120) => DateTime.UtcNow.AddSeconds(seconds);
}

[CollectionDefinition(Name)]
public sealed class DiffusionServiceCollection : ICollectionFixture<DiffusionServiceFixture>, ICollectionFixture<InProcessModel>
{
    public const string Name = "diffusion service";
}
