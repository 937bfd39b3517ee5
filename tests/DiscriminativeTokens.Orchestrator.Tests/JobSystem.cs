using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Training;
using DiscriminativeTokens.Orchestration.Validation;
using DiscriminativeTokens.Orchestrator.Tests.Fakes;

namespace DiscriminativeTokens.Orchestrator.Tests;

/// <summary>A temporary folder removed when the test ends.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dct-orchestrator-tests", Guid.NewGuid().ToString("N"));

    public TempDirectory() => Directory.CreateDirectory(Path);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>
/// The orchestrator's domain wired as the host wires it, on a data directory, with fake backends and scripted
/// engines (or a scripted executor). Dispose it to "stop the process"; open another on the same directory to restart.
/// </summary>
public sealed class JobSystem : IAsyncDisposable
{
    public static readonly EndpointOptions TestEndpoints = new()
    {
        Diffusion = new Dictionary<string, string>
        {
            ["default"] = FakeBackendFactory.Default,
            ["other"] = FakeBackendFactory.Default,
            ["dead"] = FakeBackendFactory.Unreachable,
            ["slow"] = FakeBackendFactory.Hanging,
        },
        Classifiers = new Dictionary<string, string>
        {
            ["default"] = FakeBackendFactory.DefaultClassifier,
            ["dead"] = FakeBackendFactory.Unreachable,
            ["slow"] = FakeBackendFactory.Hanging,
        },
    };

    public required string DataDirectory { get; init; }
    public required JobStore Store { get; init; }
    public required JobManager Manager { get; init; }
    public required EndpointRegistry Endpoints { get; init; }
    public required FakeBackendFactory Factory { get; init; }
    public required ScriptedTrainingEngine Training { get; init; }
    public required JobSubmission Submission { get; init; }
    public required JobResults Results { get; init; }
    public required TokenGeneration Generation { get; init; }

    public static JobSystem Open(string dataDirectory, IJobExecutor? executor = null, int maxConcurrentJobs = 1,
                                 ScriptedTrainingEngine? training = null, bool start = true)
    {
        var store = new JobStore(dataDirectory);
        var endpoints = new EndpointRegistry(TestEndpoints);
        var factory = new FakeBackendFactory();
        training ??= new ScriptedTrainingEngine();
        var retry = new MicroStepRetryOptions { MaxRetryAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(20) };
        executor ??= new JobExecutor(new TrainingJobRunner(endpoints, factory, training, retry),
                                     new EvaluationJobRunner(store, endpoints, factory, new ScriptedEvaluationEngine(), retry));
        var manager = new JobManager(store, executor, new JobManagerOptions { DataDirectory = dataDirectory, MaxConcurrentJobs = maxConcurrentJobs });
        var validation = new ValidationOptions { ServiceProbeTimeout = TimeSpan.FromMilliseconds(500) };
        var submission = new JobSubmission(new TrainingRequestValidator(endpoints, factory, validation),
                                           new EvaluationRequestValidator(store, endpoints, factory, validation), manager);
        if (start) manager.Start();
        return new JobSystem
        {
            DataDirectory = dataDirectory, Store = store, Manager = manager, Endpoints = endpoints, Factory = factory,
            Training = training, Submission = submission, Results = new JobResults(store),
            Generation = new TokenGeneration(new JobResults(store), endpoints, factory),
        };
    }

    /// <summary>A small valid training request: 3 micro-steps, exactly 4 epochs (no accuracy exceeds 1), a learning
    /// rate that moves the fake's token.</summary>
    public static TrainingConfig SmallTraining() => new()
    {
        Target = new TargetClass { Label = "triangle pointing down" },
        MicroStepsPerEpoch = 3,
        Steps = 4,
        MaxEpochs = 4,
        TargetAccuracy = 1,
        PatienceEpochs = 10,
        LearningRate = 0.05,
    };

    public Task<Job> StartTrainingAsync(TrainingConfig? config = null, string name = "") =>
        Submission.StartTrainingAsync(new StartTrainingRequest { Config = config ?? SmallTraining(), DisplayName = name }, CancellationToken.None);

    /// <summary>Every event of a job from <paramref name="after"/> until its terminal event.</summary>
    public async Task<List<JobEvent>> WatchToEndAsync(string jobId, ulong after = 0, int timeoutSeconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        var events = new List<JobEvent>();
        await foreach (var e in Manager.Watch(jobId, after, timeout.Token))
            events.Add(e);
        return events;
    }

    public async Task<Job> WaitForStateAsync(string jobId, JobState state, int timeoutSeconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        Job job;
        while ((job = Manager.Get(jobId)).State != state)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Job {jobId} stayed {job.State}, not {state}.");
            await Task.Delay(10);
        }
        return job;
    }

    public async ValueTask DisposeAsync()
    {
        await Manager.DisposeAsync();
        Store.Dispose();
    }
}
