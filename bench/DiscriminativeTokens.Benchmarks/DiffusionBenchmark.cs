using System.Diagnostics;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Diffusion.Training;
using DiscriminativeTokens.Tensors;
using DiscriminativeTokens.Testing;
using TorchSharp;
using static TorchSharp.torch;
using WireGradientMode = DiscriminativeTokens.Contracts.Diffusion.V1.GradientMode;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// The diffusion service's gradient sessions: seconds per training micro-step (forward: sample, decode, image out;
/// backward: dLoss/dImage in, dLoss/dToken out) in each memory mode, in process (the domain code alone) and over gRPC
/// on loopback against the real service process; what an open session holds (in process: C heap and tensors; in the
/// service: RSS); the service's peak RSS at two step counts; and what 200 micro-steps leave behind. On the sd-tiny
/// fixture (gradient mode REFERENCE) and on a randomly initialised model with Stable Diffusion 1.5's configuration at
/// 512x512 (2 steps, LAST_K 1, one micro-step per mode and path, no memory series: it is slow on a CPU). Progress goes
/// to stderr, the figures to stdout.
/// </summary>
internal static class DiffusionBenchmark
{
    private const string Placeholder = "newclas";
    private const string Prompt = "A photo of newclas cat";
    private static readonly GradientMemoryMode[] Modes = [GradientMemoryMode.KeepGraph, GradientMemoryMode.Recompute];

    // DCT_BENCH_CELLS picks cells of the table, e.g. "grpc:recompute" (a micro-step at SD-1.5 size takes many minutes):
    // a comma-separated list of inprocess|grpc:keepgraph|recompute. Default: all.
    private static readonly string[] Cells = (Environment.GetEnvironmentVariable("DCT_BENCH_CELLS") ?? "")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static GradientMemoryMode[] ModesFor(string where) =>
        Modes.Where(m => Cells.Length == 0 || Cells.Contains($"{where}:{m}", StringComparer.OrdinalIgnoreCase)).ToArray();

    /// <param name="Threads">LibTorch intra-op threads, in process and in the service (0 = one per core). The tiny
    /// model's ops are too small to share: on 2 busy cores one thread was 3-5x faster.</param>
    /// <param name="SessionsForMemory">Sessions held open at once to measure memory per session (0 = read it off the
    /// timed micro-step instead).</param>
    /// <param name="LastK">Differentiated UNet calls (gradient mode LAST_K), or 0 for the reference's rule.</param>
    private sealed record Setup(
        string Name, string Folder, int Size, int Steps, int Warmup, int Repetitions, int SessionsForMemory,
        int LeakMicroSteps, int[] StepCountsForMemory, int Threads, int LastK = 0)
    {
        public Diffusion.Training.GradientMode Gradient =>
            LastK > 0 ? Diffusion.Training.GradientMode.LastK(LastK) : Diffusion.Training.GradientMode.Reference;

        public string GradientText => LastK > 0
            ? $"gradient mode LAST_K {LastK} (the last {LastK} UNet call(s) differentiated)"
            : "gradient mode REFERENCE (PNDM: the last 2 UNet calls are differentiated)";
    }

    /// <summary>A timed micro-step series and the memory read along its last micro-step.</summary>
    private sealed record Measured(Stats Time, long HeldBytes, long PeakBytes, long HeldTensors = 0);

    public static async Task RunAsync(string which)
    {
        Console.WriteLine(HostInfo.Describe());
        Console.WriteLine("PNDM, guidance 7, float32 on the CPU; a micro-step is a forward (sample, decode, image out) then a " +
                          "backward (dLoss/dImage in, dLoss/dToken out)");
        if (which is "tiny" or "all")
            await RunAsync(new Setup("sd-tiny fixture, 32x32, 10 steps", RepositoryPaths.SdTiny, 32, 10, Warmup: 3,
                                     Repetitions: 20, SessionsForMemory: 4, LeakMicroSteps: 200, StepCountsForMemory: [10, 50],
                                     Threads: 1));
        if (which is "sd15" or "all")
        {
            string folder = RandomStableDiffusion15.Ensure(Path.Combine(Path.GetTempPath(), "dct-bench", "sd15-random"));
            await RunAsync(new Setup("random SD-1.5, 512x512, 2 steps", folder, 512, 2, Warmup: 0, Repetitions: 1,
                                     SessionsForMemory: 0, LeakMicroSteps: 0, StepCountsForMemory: [], Threads: 0, LastK: 1));
        }
    }

    private static async Task RunAsync(Setup setup)
    {
        int threads = setup.Threads > 0 ? setup.Threads : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        Console.WriteLine();
        Console.WriteLine($"## {setup.Name}, {setup.GradientText}, {threads} LibTorch thread(s)");

        // In process: the domain code alone, on one dedicated thread (dispose-scope statistics are per thread).
        var inProcess = ModesFor("inprocess").Length == 0
            ? new InProcessResult([], [])
            : await Task.Factory.StartNew(() => InProcess(setup), CancellationToken.None,
                                          TaskCreationOptions.LongRunning, TaskScheduler.Default);
        GC.Collect();
        ProcessMemory.Trim();
        var grpcModes = ModesFor("grpc");
        if (grpcModes.Length == 0)
        {
            PrintTable(setup, inProcess, []);
            return;
        }

        // Over gRPC: the service process on loopback.
        Progress($"starting the diffusion service with {setup.Folder}");
        await using var service = await ServiceProcess.StartAsync("DiffusionService", "DiffusionService",
            "--Diffusion:Model", setup.Folder, "--Diffusion:Device", "cpu", "--Diffusion:MaxConcurrent", "16",
            "--Diffusion:MaxOpenForwardsPerSession", "16", "--Diffusion:SessionIdleTimeout", "02:00:00",
            "--Diffusion:Threads", threads.ToString(), "--Logging:LogLevel:Default", "Warning");
        await service.WaitForServingAsync(TimeSpan.FromMinutes(10));
        var client = new DiffusionService.DiffusionServiceClient(service.Channel);
        int pid = service.ProcessId;
        long loadedRss = ProcessMemory.RssBytes(pid);
        var vector = Vector((await client.GetModelInfoAsync(new GetModelInfoRequest())).TextHiddenSize);

        var overGrpc = new Dictionary<GradientMemoryMode, Measured>();
        foreach (var mode in grpcModes)
            overGrpc[mode] = await OverGrpcAsync(client, pid, setup, mode, vector);
        long warmRss = ProcessMemory.RssBytes(pid);
        await Task.Delay(TimeSpan.FromSeconds(8));   // the service trims its heap after 5 s without work
        long idleRss = ProcessMemory.RssBytes(pid);

        var lines = new List<string>(inProcess.Lines);
        foreach (var mode in grpcModes)
        {
            if (setup.SessionsForMemory > 0)
                lines.Add(await HeldByOpenSessionsAsync(client, pid, setup, mode, vector));
            if (setup.StepCountsForMemory.Length > 0)
            {
                // Twice each, interleaved: the spread between equal step counts is the allocator's noise, and a drift
                // of the absolute peak over time shows up as such instead of as a difference between step counts.
                var peaks = new Dictionary<int, List<(long Peak, long Growth)>>();
                foreach (int steps in setup.StepCountsForMemory.Concat(setup.StepCountsForMemory))
                    (peaks.TryGetValue(steps, out var list) ? list : peaks[steps] = []).Add(
                        await PeakRssForStepsAsync(client, pid, setup, mode, steps, vector));
                lines.Add($"Service peak RSS over one micro-step, {mode} (runs in the order 10, 50, 10, 50; in brackets the peak " +
                          "above the RSS just before the micro-step): " + string.Join("; ", peaks.Select(p =>
                    $"{p.Key} sampling steps {string.Join(" and ", p.Value.Select(v => $"{ProcessMemory.Mib(v.Peak)} MiB (+{Size(v.Growth)})"))}")));
            }
            if (setup.LeakMicroSteps > 0)
                lines.Add(await RssOverMicroStepsAsync(client, pid, setup, mode, vector));
        }

        Console.WriteLine();
        Console.WriteLine($"Service RSS: {ProcessMemory.Mib(loadedRss)} MiB with the model loaded, {ProcessMemory.Mib(warmRss)} MiB " +
                          $"right after the timed micro-steps, {ProcessMemory.Mib(idleRss)} MiB 8 s later (idle: freed memory " +
                          "returned to the OS).");
        PrintTable(setup, inProcess with { Lines = lines }, overGrpc);
    }

    private static void PrintTable(Setup setup, InProcessResult inProcess, Dictionary<GradientMemoryMode, Measured> overGrpc)
    {
        Console.WriteLine($"Seconds: median of {setup.Repetitions} micro-step(s) after {setup.Warmup} warm-up. Held = memory a " +
                          "session keeps between its forward and its backward; peak = the service's RSS high-water mark during " +
                          "a micro-step, above its RSS before it. \"not run\": a cell left out by DCT_BENCH_CELLS.");
        Console.WriteLine();
        Console.WriteLine("| memory mode | in process s | over gRPC s | gRPC / in process | held per session, in process (C heap) | " +
                          "held per session, service RSS | peak during a micro-step, service RSS |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var mode in Modes)
        {
            var local = inProcess.Measured.GetValueOrDefault(mode);
            var remote = overGrpc.GetValueOrDefault(mode);
            string ratio = local is null || remote is null ? "" : $"{remote.Time.Median / local.Time.Median:0.00}";
            Console.WriteLine(
                $"| {mode} | {(local is null ? "not run" : $"{local.Time.Median:0.000}")} | " +
                $"{(remote is null ? "not run" : $"{remote.Time.Median:0.000}")} | {ratio} | " +
                $"{(local is null ? "not run" : $"{Size(local.HeldBytes)} ({local.HeldTensors} tensors)")} | " +
                $"{(remote is null ? "not run" : Size(remote.HeldBytes))} | {(remote is null ? "not run" : Size(remote.PeakBytes))} |");
        }
        Console.WriteLine();
        foreach (string line in inProcess.Lines)
            Console.WriteLine("- " + line);
    }

    private sealed record InProcessResult(Dictionary<GradientMemoryMode, Measured> Measured, List<string> Lines);

    private static InProcessResult InProcess(Setup setup)
    {
        Progress($"loading {setup.Folder} in process");
        var measured = new Dictionary<GradientMemoryMode, Measured>();
        var lines = new List<string>();
        using var model = StableDiffusionModel.Load(setup.Folder, CPU);
        using var engine = new DiffusionEngine(model, new ServingLimits { MaxSteps = 250, MaxConcurrent = 16 });
        using var vector = randn(model.TextHiddenSize, generator: new Generator(7)) * 0.01;
        using var imageGradient = randn([1, 3, setup.Size, setup.Size], generator: new Generator(8)) * 1e-3;
        var statistics = DisposeScopeManager.Statistics;
        foreach (var mode in ModesFor("inprocess"))
        {
            using var session = engine.Sessions.Open(Settings(setup, mode));
            ulong id = 0;
            long heldBytes = 0, heldTensors = 0;
            void MicroStep()
            {
                id++;
                long heapBefore = ProcessMemory.NativeHeapInUse() ?? 0, liveBefore = statistics.ThreadTotalLiveCount;
                using (session.Forward(new SessionForward(id, Sampling(engine, setup, setup.Steps, (long)id), vector, null), null,
                                       CancellationToken.None)) { }
                heldBytes = (ProcessMemory.NativeHeapInUse() ?? 0) - heapBefore;
                heldTensors = statistics.ThreadTotalLiveCount - liveBefore;
                using (session.Backward(id, imageGradient)) { }
            }

            Progress($"in process, {mode}: {setup.Warmup} warm-up + {setup.Repetitions} timed micro-step(s)");
            var time = Timing.Measure(MicroStep, setup.Warmup, setup.Repetitions);
            measured[mode] = new Measured(time, heldBytes, 0, heldTensors);
            Progress($"in process, {mode}: median {time.Median:0.000} s, held {Size(heldBytes)} in {heldTensors} tensors");

            if (setup.SessionsForMemory > 0)
                lines.Add(HeldByOpenSessions(engine, setup, mode, vector));
            if (setup.LeakMicroSteps > 0)
            {
                Progress($"in process, {mode}: {setup.LeakMicroSteps} micro-steps for the leak check");
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long liveBefore = statistics.ThreadTotalLiveCount;
                long heapBefore = ProcessMemory.NativeHeapInUse() ?? 0;
                for (int i = 0; i < setup.LeakMicroSteps; i++)
                    MicroStep();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                lines.Add($"Leak check, {mode}, {setup.LeakMicroSteps} micro-steps in process: live TorchSharp tensors " +
                          $"{statistics.ThreadTotalLiveCount - liveBefore:+0;-0;0} (dispose-scope statistics), C heap in use " +
                          $"{((ProcessMemory.NativeHeapInUse() ?? 0) - heapBefore) / 1024.0:+0;-0;0} KiB (glibc mallinfo2)");
                Progress(lines[^1]);
            }
        }
        return new InProcessResult(measured, lines);
    }

    /// <summary>Sessions held open at once, each with one forward awaiting its backward: tensors and C heap per session.</summary>
    private static string HeldByOpenSessions(DiffusionEngine engine, Setup setup, GradientMemoryMode mode, Tensor vector)
    {
        var statistics = DisposeScopeManager.Statistics;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long liveBefore = statistics.ThreadTotalLiveCount;
        long heapBefore = ProcessMemory.NativeHeapInUse() ?? 0;
        var sessions = new List<GradientSession>();
        for (int i = 0; i < setup.SessionsForMemory; i++)
        {
            var session = engine.Sessions.Open(Settings(setup, mode));
            sessions.Add(session);
            using (session.Forward(new SessionForward(1, Sampling(engine, setup, setup.Steps, i), vector, null), null,
                                   CancellationToken.None)) { }
        }
        long tensors = (statistics.ThreadTotalLiveCount - liveBefore) / setup.SessionsForMemory;
        long bytes = ((ProcessMemory.NativeHeapInUse() ?? 0) - heapBefore) / setup.SessionsForMemory;
        foreach (var session in sessions) session.Dispose();
        string line = $"{setup.SessionsForMemory} sessions open at once, one forward held in each, {mode}, in process: " +
                      $"{Size(bytes)} of C heap and {tensors} tensors per session";
        Progress(line);
        return line;
    }

    private static SessionSettings Settings(Setup setup, GradientMemoryMode mode) =>
        new(Placeholder, setup.Gradient, mode, Diffusion.Training.SamplingLoopStyle.Proper);

    private static ResolvedSampling Sampling(DiffusionEngine engine, Setup setup, int steps, long seed) =>
        engine.Validator.Resolve(new SamplingRequest { Prompt = Prompt, Seed = seed, Steps = steps, Width = setup.Size, Height = setup.Size });

    private static OpenSession Open(Setup setup, GradientMemoryMode mode) => new()
    {
        Placeholder = Placeholder,
        GradientMode = setup.LastK > 0 ? WireGradientMode.LastK : WireGradientMode.Reference,
        LastKCalls = setup.LastK,
        MemoryMode = mode == GradientMemoryMode.KeepGraph ? MemoryMode.KeepGraph : MemoryMode.Recompute,
    };

    private static ForwardRequest Forward(ulong id, Setup setup, int steps, WireTensor vector) => new()
    {
        ForwardId = id,
        Sampling = new SamplingOptions { Prompt = Prompt, Seed = id, Steps = steps, Width = setup.Size, Height = setup.Size },
        TokenEmbedding = vector,
    };

    private static WireTensor Vector(int hidden)
    {
        using var vector = randn(hidden, generator: new Generator(7)) * 0.01;
        return TensorCodec.Encode(vector);
    }

    /// <summary>Timed micro-steps over gRPC; along the last one, the service's RSS growth while the forward is held and
    /// its peak growth over the whole micro-step.</summary>
    private static async Task<Measured> OverGrpcAsync(DiffusionService.DiffusionServiceClient client, int pid, Setup setup,
                                                     GradientMemoryMode mode, WireTensor vector)
    {
        using var imageGradient = randn([1, 3, setup.Size, setup.Size], generator: new Generator(8)) * 1e-3;
        await using var session = await BenchSessionClient.OpenAsync(client, Open(setup, mode));
        ulong id = 0;
        long held = 0, peak = 0;
        Progress($"over gRPC, {mode}: {setup.Warmup} warm-up + {setup.Repetitions} timed micro-step(s)");
        var stats = await Timing.MeasureAsync(async () =>
        {
            id++;
            long before = ProcessMemory.RssBytes(pid);
            ProcessMemory.ResetPeak(pid);
            using (await session.ForwardAsync(Forward(id, setup, setup.Steps, vector))) { }
            held = ProcessMemory.RssBytes(pid) - before;
            await session.BackwardAsync(id, imageGradient);
            peak = ProcessMemory.PeakRssBytes(pid) - before;
        }, setup.Warmup, setup.Repetitions);
        await session.CloseAsync();
        Progress($"over gRPC, {mode}: median {stats.Median:0.000} s, service RSS held {Size(held)}, peak {Size(peak)}");
        return new Measured(stats, held, peak);
    }

    /// <summary>The service's RSS growth per session with <see cref="Setup.SessionsForMemory"/> sessions open, each
    /// holding one forward that awaits its backward (RSS is blurred by the allocator's caches; the in-process figure
    /// is exact).</summary>
    private static async Task<string> HeldByOpenSessionsAsync(DiffusionService.DiffusionServiceClient client, int pid,
                                                             Setup setup, GradientMemoryMode mode, WireTensor vector)
    {
        await Task.Delay(500);
        long baseline = ProcessMemory.RssBytes(pid);
        ProcessMemory.ResetPeak(pid);
        var sessions = new List<BenchSessionClient>();
        try
        {
            for (int i = 0; i < setup.SessionsForMemory; i++)
            {
                var session = await BenchSessionClient.OpenAsync(client, Open(setup, mode));
                sessions.Add(session);
                using (await session.ForwardAsync(Forward((ulong)i + 1, setup, setup.Steps, vector))) { }
            }
            await Task.Delay(500);
            long held = (ProcessMemory.RssBytes(pid) - baseline) / setup.SessionsForMemory;
            long peak = (ProcessMemory.PeakRssBytes(pid) - baseline) / setup.SessionsForMemory;
            string line = $"{setup.SessionsForMemory} sessions open at once over gRPC, one forward held in each, {mode}: service RSS " +
                          $"{Size(held)} per session held, {Size(peak)} per session at peak";
            Progress(line);
            return line;
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.CloseAsync();
                await session.DisposeAsync();
            }
        }
    }

    /// <summary>The service's RSS high-water mark over one micro-step with <paramref name="steps"/> sampling steps.</summary>
    private static async Task<(long Peak, long Growth)> PeakRssForStepsAsync(DiffusionService.DiffusionServiceClient client, int pid, Setup setup,
                                                          GradientMemoryMode mode, int steps, WireTensor vector)
    {
        using var imageGradient = randn([1, 3, setup.Size, setup.Size], generator: new Generator(8)) * 1e-3;
        await using var session = await BenchSessionClient.OpenAsync(client, Open(setup, mode));
        await Task.Delay(500);
        long before = ProcessMemory.RssBytes(pid);
        ProcessMemory.ResetPeak(pid);
        using (await session.ForwardAsync(Forward(1, setup, steps, vector))) { }
        await session.BackwardAsync(1, imageGradient);
        long peak = ProcessMemory.PeakRssBytes(pid);
        await session.CloseAsync();
        Progress($"service peak RSS over one micro-step with {steps} sampling steps, {mode}: {ProcessMemory.Mib(peak)} MiB " +
                 $"(+{Size(peak - before)} above the RSS before)");
        return (peak, peak - before);
    }

    /// <summary>The service's RSS along <see cref="Setup.LeakMicroSteps"/> micro-steps over gRPC: it must level off.</summary>
    private static async Task<string> RssOverMicroStepsAsync(DiffusionService.DiffusionServiceClient client, int pid, Setup setup,
                                                            GradientMemoryMode mode, WireTensor vector)
    {
        Progress($"over gRPC, {mode}: {setup.LeakMicroSteps} micro-steps, service RSS every {setup.LeakMicroSteps / 4}");
        using var imageGradient = randn([1, 3, setup.Size, setup.Size], generator: new Generator(8)) * 1e-3;
        await using var session = await BenchSessionClient.OpenAsync(client, Open(setup, mode));
        var samples = new List<long> { ProcessMemory.RssBytes(pid) };
        for (ulong id = 1; id <= (ulong)setup.LeakMicroSteps; id++)
        {
            using (await session.ForwardAsync(Forward(id, setup, setup.Steps, vector))) { }
            await session.BackwardAsync(id, imageGradient);
            if (id % (ulong)(setup.LeakMicroSteps / 4) == 0)
                samples.Add(ProcessMemory.RssBytes(pid));
        }
        await session.CloseAsync();
        string line = $"Service RSS along {setup.LeakMicroSteps} micro-steps over gRPC, {mode}: " +
                      string.Join(" → ", samples.Select(ProcessMemory.Mib)) + " MiB";
        Progress(line);
        return line;
    }

    private static string Size(long bytes) =>
        Math.Abs(bytes) >= 1 << 30 ? $"{bytes / (double)(1 << 30):0.00} GiB"
        : Math.Abs(bytes) >= 1 << 20 ? $"{bytes / (double)(1 << 20):0.0} MiB"
        : $"{bytes / 1024.0:0} KiB";

    private static void Progress(string message) =>
        Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
