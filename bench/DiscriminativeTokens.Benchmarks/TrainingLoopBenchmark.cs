using System.Globalization;
using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Downstream;
using DiscriminativeTokens.Orchestration.InProcess;
using DiscriminativeTokens.Orchestration.Training;
using DiscriminativeTokens.Testing;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// Seconds per micro-step of the training loop on the tiny fixture models (sd-tiny 32x32, vit-tiny) with realistic
/// loop settings (5 micro-steps per epoch, the reference gradient path, recompute memory mode): the TrainingLoop over
/// the in-process backends, versus over the gRPC backends talking to a real DiffusionService and ClassifierService
/// process on loopback; overlap off and on. Every process computes with the same number of LibTorch threads.
/// </summary>
/// <remarks>
/// Environment overrides: DCT_BENCH_STEPS (denoising steps, default 30), DCT_BENCH_EPOCHS (measured epochs per run,
/// default 3), DCT_BENCH_ROUNDS (rounds, default 3), DCT_BENCH_THREADS (LibTorch threads per process, default 1).
/// </remarks>
internal static class TrainingLoopBenchmark
{
    private const int MicroSteps = 5;
    private const int WarmupEpochs = 1;

    private sealed record Configuration(string Name, bool Remote, bool Overlap)
    {
        public List<double> SecondsPerMicroStep { get; } = [];
        public float[]? LastToken { get; set; }
        public CallTimes Calls { get; } = new();
    }

    public static async Task RunAsync(string repositoryRoot)
    {
        int steps = Setting("DCT_BENCH_STEPS", 30);
        int epochs = Setting("DCT_BENCH_EPOCHS", 3);
        int rounds = Setting("DCT_BENCH_ROUNDS", 3);
        int threads = Setting("DCT_BENCH_THREADS", 1);
        // The services get Diffusion:Threads and Classifier:Threads below; this process uses the same count.
        set_num_threads(threads);
        string host = HostInfo.Describe();
        string loadBefore = Load();

        string sdTiny = Path.Combine(repositoryRoot, "tests", "data", "sd-tiny");
        string vitTiny = Path.Combine(sdTiny, "vit-tiny");
        Console.Error.WriteLine("starting the diffusion and classifier services...");
        await using var diffusionService = await ServingAsync(await ServiceProcess.StartAsync("DiffusionService", "DiffusionService",
            "--Diffusion:Model", sdTiny, "--Diffusion:Device", "cpu", "--Diffusion:Threads", threads.ToString(CultureInfo.InvariantCulture),
            "--Logging:LogLevel:Default", "Warning"));
        await using var classifierService = await ServingAsync(await ServiceProcess.StartAsync("ClassifierService", "ClassifierService",
            "--Classifier:Kind", "vit", "--Classifier:Path", vitTiny, "--Classifier:Device", "cpu",
            "--Classifier:Threads", threads.ToString(CultureInfo.InvariantCulture),
            "--Logging:LogLevel:Default", "Warning"));

        using var engine = new DiffusionEngine(StableDiffusionModel.Load(sdTiny, CPU), new ServingLimits());
        using var pipeline = ClassifierLoader.LoadVit(vitTiny, CPU);
        var local = (Diffusion: (IDiffusionBackend)new InProcessDiffusionBackend(engine),
                     Classifier: (IClassifierBackend)new InProcessClassifierBackend(pipeline));
        using var factory = new GrpcBackendFactory();
        var remote = (Diffusion: factory.CreateDiffusion("bench", diffusionService.Address),
                      Classifier: factory.CreateClassifier("bench", classifierService.Address));

        var configurations = new[]
        {
            new Configuration("in process, overlap off", Remote: false, Overlap: false),
            new Configuration("three processes, overlap off", Remote: true, Overlap: false),
            new Configuration("in process, overlap on", Remote: false, Overlap: true),
            new Configuration("three processes, overlap on", Remote: true, Overlap: true),
        };
        // Rounds alternate the configurations so that a burst of load on the shared machine slows all of them.
        for (int round = 0; round < rounds; round++)
        {
            foreach (var c in configurations)
            {
                Console.Error.WriteLine($"  round {round + 1}/{rounds}: {c.Name}...");
                var (diffusion, classifier) = c.Remote ? remote : local;
                var observer = new EpochTimes(c.Calls);
                var settings = Settings(steps, WarmupEpochs + epochs, c.Overlap);
                var outcome = await new TrainingLoop(new TimedDiffusionBackend(diffusion, c.Calls),
                    new TimedClassifierBackend(classifier, c.Calls), settings, observer).RunAsync(null, CancellationToken.None);
                c.SecondsPerMicroStep.AddRange(observer.Seconds.Skip(WarmupEpochs).Select(s => s / MicroSteps));
                c.LastToken = outcome.BestToken;
            }
        }

        Console.WriteLine(host);
        string loadAfter = Load();
        Console.WriteLine(
            Invariant($"Training loop on sd-tiny (32x32) + vit-tiny: {MicroSteps} micro-steps per epoch, {steps} steps, guidance 7, ") +
            Invariant($"reference gradient path, recompute memory mode; {threads} LibTorch thread(s) in every process; per configuration ") +
            Invariant($"{rounds} runs of {WarmupEpochs} warm-up + {epochs} measured epochs, configurations alternating; seconds per ") +
            Invariant($"micro-step = epoch seconds / micro-steps, median (p10-p90) of the measured epochs. Load average {loadBefore} ") +
            Invariant($"before, {loadAfter} after."));
        Console.WriteLine();
        Console.WriteLine("| configuration | s per micro-step | vs in process (same overlap) |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var c in configurations)
        {
            var stats = Stats.Of(c.SecondsPerMicroStep.ToArray());
            var baseline = configurations.Single(b => !b.Remote && b.Overlap == c.Overlap);
            double ratio = stats.Median / Stats.Of(baseline.SecondsPerMicroStep.ToArray()).Median;
            Console.WriteLine(Invariant($"| {c.Name} | {stats.Median:0.000} ({stats.P10:0.000}-{stats.P90:0.000}) | {ratio:0.00} |"));
        }
        Console.WriteLine();
        Console.WriteLine("Where a micro-step's time goes: wall time of each backend call, median (p10-p90) ms. With overlap on, " +
                          "the next forward runs during the classifier and backward calls, so the times overlap.");
        Console.WriteLine();
        Console.WriteLine("| configuration | call | calls | ms |");
        Console.WriteLine("|---|---|---:|---:|");
        foreach (var c in configurations)
            foreach (var (kind, stats, count) in c.Calls.Summary())
                Console.WriteLine(Invariant(
                    $"| {c.Name} | {kind[2..]} | {count} | {stats.Median * 1e3:0.0} ({stats.P10 * 1e3:0.0}-{stats.P90 * 1e3:0.0}) |"));
        // The same settings in both places train the same token (the test suite states the tolerance); a large
        // difference here would mean the two configurations did not do the same work.
        float difference = configurations[2].LastToken!.Zip(configurations[3].LastToken!, (a, b) => Math.Abs(a - b)).Max();
        Console.WriteLine();
        Console.WriteLine(Invariant($"Largest difference between the in-process and three-process tokens (overlap on): {difference:G3}"));
        Console.WriteLine();
    }

    private static TrainingSettings Settings(int steps, int epochs, bool overlap) => new()
    {
        ClassId = 4,
        ClassPromptName = "cat",
        MicroStepsPerEpoch = MicroSteps,
        Steps = steps,
        ImageSize = 32,
        GradientPath = GradientPath.Reference,
        MemoryMode = SessionMemoryMode.Recompute,
        // Never stop early: every run does exactly its epochs.
        TargetAccuracy = 1.0,
        PatienceEpochs = epochs + 1,
        MaxEpochs = epochs,
        Overlap = overlap,
    };

    private static async Task<ServiceProcess> ServingAsync(ServiceProcess service)
    {
        try
        {
            await service.WaitForServingAsync(TimeSpan.FromSeconds(120));
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value : fallback;

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Records each epoch's wall time (the loop measures it from the epoch's start to its report).</summary>
    private sealed class EpochTimes(CallTimes calls) : ITrainingObserver
    {
        public List<double> Seconds { get; } = [];
        public void OnMicroStep(MicroStepReport report) { }

        public void OnEpoch(EpochReport report)
        {
            Seconds.Add(report.Seconds);
            // The backend calls of the measured epochs only.
            calls.Recording = Seconds.Count >= WarmupEpochs;
        }

        public void OnRetry(RetryReport report) =>
            Console.Error.WriteLine($"  retry (the figures include it): {report}");
        public Task OnCheckpointAsync(TrainingCheckpoint checkpoint, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
