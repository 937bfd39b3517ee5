using System.Diagnostics;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Testing;
using ProtoGradientMode = DiscriminativeTokens.Contracts.Diffusion.V1.GradientMode;
using ProtoMemoryMode = DiscriminativeTokens.Contracts.Diffusion.V1.MemoryMode;

namespace DiscriminativeTokens.Orchestrator.Tests.EndToEnd;

/// <summary>
/// One DiffusionService (sd-tiny) and one ClassifierService (vit-tiny) process for the whole "three processes"
/// collection. Both run one LibTorch thread: the tiny models' ops are too small to share, with overlap a forward and a
/// backward run at once so more threads only oversubscribe the cores, and the in-process comparison run uses one
/// thread too, so every side runs the same kernels in the same order. The classifier keeps its default (reference)
/// preprocessing, as the in-process backend does. Orchestrators are started per test, each on its own data
/// directory, with the fixture's services as their "default" endpoints. The uninterrupted training run the other
/// runs are compared to is made once, lazily, and its data directory kept for the tests that use its job.
/// </summary>
public sealed class ThreeProcessFixture : IAsyncLifetime
{
    public static string VitFolder => Path.Combine(RepositoryPaths.SdTiny, "vit-tiny");

    public ServiceProcess Diffusion { get; private set; } = null!;
    public ServiceProcess Classifier { get; private set; } = null!;

    private readonly TempDirectory _referenceData = new();
    private readonly SemaphoreSlim _referenceLock = new(1, 1);
    private ReferenceRun? _reference;

    public async Task InitializeAsync()
    {
        var watch = Stopwatch.StartNew();
        Diffusion = await (await ServiceProcess.StartAsync("DiffusionService", "DiffusionService",
            "--Diffusion:Model", RepositoryPaths.SdTiny, "--Diffusion:Device", "cpu", "--Diffusion:Threads", "1"))
            .ServingOrDisposedAsync(TimeSpan.FromSeconds(90));
        Classifier = await StartClassifierAsync(port: 0);
        Console.WriteLine($"[e2e] diffusion and classifier services serving after {watch.Elapsed.TotalSeconds:F1} s");
    }

    public async Task DisposeAsync()
    {
        if (Diffusion is not null) await Diffusion.DisposeAsync();
        if (Classifier is not null) await Classifier.DisposeAsync();
        _referenceData.Dispose();
    }

    /// <summary>A ClassifierService with vit-tiny on <paramref name="port"/> (0: any free port), serving.</summary>
    public static async Task<ServiceProcess> StartClassifierAsync(int port) =>
        await (await ServiceProcess.StartAsync("ClassifierService", "ClassifierService",
            "--Classifier:Kind", "vit", "--Classifier:Path", VitFolder, "--Classifier:Device", "cpu", "--Classifier:Threads", "1",
            // The later --urls wins over ServiceProcess's own (any free port), so a restart can reuse the port.
            "--urls", $"http://127.0.0.1:{port}"))
            .ServingOrDisposedAsync(TimeSpan.FromSeconds(90));

    /// <summary>
    /// An Orchestrator process on <paramref name="dataDirectory"/> whose "default" endpoints are the given services
    /// (the fixture's unless overridden), with quick retries and a short circuit-breaker break so a restarted service
    /// is used again within seconds.
    /// </summary>
    public async Task<ServiceProcess> StartOrchestratorAsync(string dataDirectory, string? classifierAddress = null)
    {
        var service = await ServiceProcess.StartAsync("Orchestrator", "Orchestrator",
            "--Orchestrator:DataDirectory", dataDirectory,
            "--Orchestrator:Endpoints:Diffusion:default", Diffusion.Address,
            "--Orchestrator:Endpoints:Classifiers:default", classifierAddress ?? Classifier.Address,
            "--Orchestrator:Retry:MaxRetryAttempts", "30",
            "--Orchestrator:Retry:BaseDelay", "00:00:00.5",
            "--Orchestrator:Retry:MaxDelay", "00:00:01",
            "--Orchestrator:Downstream:InfoTimeout", "00:00:05",
            "--Orchestrator:Downstream:ComputeTimeout", "00:01:00",
            "--Orchestrator:Downstream:BreakDuration", "00:00:01");
        return await service.ServingOrDisposedAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>
    /// The settings of the loop's in-process tests (DiscriminativeTokens.Orchestration.Tests' TrainingRuns.Small):
    /// class 4 ("cat"), 3 micro-steps of 4 steps at 32x32, full backpropagation in recompute mode, learning rate 0.5,
    /// 3 epochs without an early stop, overlap on.
    /// </summary>
    public static TrainingConfig SmallConfig() => new()
    {
        Target = new TargetClass { ClassId = 4, PromptName = "cat" },
        MicroStepsPerEpoch = 3,
        Steps = 4,
        ImageSize = 32,
        GradientMode = ProtoGradientMode.Full,
        MemoryMode = ProtoMemoryMode.Recompute,
        LearningRate = 0.5,
        TargetAccuracy = 1.0,
        PatienceEpochs = 10,
        MaxEpochs = 3,
        Overlap = true,
    };

    /// <summary>The uninterrupted three-process run of <see cref="SmallConfig"/>, made on first use.</summary>
    public async Task<ReferenceRun> ReferenceAsync()
    {
        await _referenceLock.WaitAsync();
        try
        {
            if (_reference is not null) return _reference;
            var watch = Stopwatch.StartNew();
            await using var orchestrator = await StartOrchestratorAsync(_referenceData.Path);
            var client = new OrchestratorService.OrchestratorServiceClient(orchestrator.Channel);
            var job = await client.StartTrainingAsync(new StartTrainingRequest { Config = SmallConfig(), DisplayName = "reference" },
                                                      deadline: Calls.UnaryDeadline());
            var events = await Calls.WatchAsync(client, job.JobId);
            var ended = await client.GetJobAsync(new GetJobRequest { JobId = job.JobId }, deadline: Calls.UnaryDeadline());
            Assert.True(ended.State == JobState.Succeeded, $"The reference job ended {ended.State}: {ended.Error}\n{orchestrator.Output}");
            var result = await client.GetTrainingResultAsync(new GetTrainingResultRequest { JobId = job.JobId }, deadline: Calls.UnaryDeadline());
            Assert.Equal(0, await orchestrator.StopAsync(TimeSpan.FromSeconds(20)));
            Console.WriteLine($"[e2e] reference three-process run: {watch.Elapsed.TotalSeconds:F1} s");
            return _reference = new ReferenceRun(_referenceData.Path, ended, events, result);
        }
        finally
        {
            _referenceLock.Release();
        }
    }
}

/// <summary>The reference job: its data directory (for orchestrators that use the job later), record, events, result.</summary>
public sealed record ReferenceRun(string DataDirectory, Job Job, IReadOnlyList<JobEvent> Events, TrainingResult Result)
{
    public float[] Token => Calls.Floats(Result.Embedding);
}

/// <summary>The end-to-end classes start real processes and train; they run alone, one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ThreeProcessCollection : ICollectionFixture<ThreeProcessFixture>
{
    public const string Name = "three processes";
}
