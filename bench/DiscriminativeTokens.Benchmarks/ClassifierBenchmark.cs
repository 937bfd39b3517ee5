using System.Globalization;
using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Models.Vit;
using DiscriminativeTokens.Classification.Preprocessing;
using DiscriminativeTokens.ClassifierService;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Classifier.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// Classify and LossAndGradient latency for one 1x3x512x512 image: the domain pipeline called in-process, versus the
/// real ClassifierService (hosted in this process on Kestrel, h2c on 127.0.0.1) called through a DctChannel, which adds
/// chunking, the HTTP/2 transport, reassembly, validation and (for the gradient) chunking back.
/// </summary>
internal static class ClassifierBenchmark
{
    private const int Target = 3;

    private sealed record Model(string Name, Func<ClassifierPipeline> Create, int Warmup, int Repetitions);

    public static async Task RunAsync()
    {
        // A model service uses every core (the gRPC benchmark, run before this one by "all", sets one thread).
        torch.set_num_threads(Environment.ProcessorCount);
        var models = new[]
        {
            new Model("vit-tiny (fixture: 2 layers, hidden 32, input 32)", LoadTiny, Warmup: 5, Repetitions: 40),
            new Model("ViT-B/16-sized, random weights (12 layers, hidden 768, input 224, 1000 classes)", CreateVitBase,
                      Warmup: 2, Repetitions: 7),
        };

        using var image = rand([1, 3, 512, 512], generator: new Generator(42));
        var rows = new List<string>();
        foreach (var model in models)
            rows.AddRange(await MeasureAsync(model, image));

        Console.WriteLine(HostInfo.Describe());
        Console.WriteLine(Invariant(
            $"Classifier latency: one 1x3x512x512 float32 image (3 MiB; the gradient is as large), {torch.get_num_threads()} LibTorch threads, ") +
            "median (p10-p90) of the repetitions after warm-up, in-process and gRPC calls alternating; gRPC = the " +
            "ClassifierService hosted in-process on Kestrel, h2c on 127.0.0.1, 1 MiB chunks each way");
        Console.WriteLine();
        Console.WriteLine("| model | call | in-process ms | gRPC ms | gRPC / in-process | gRPC overhead ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (var row in rows) Console.WriteLine(row);
        Console.WriteLine();
    }

    private static async Task<List<string>> MeasureAsync(Model model, Tensor image)
    {
        // The service owns (and at shutdown disposes) the pipeline; the in-process figures use the same instance.
        var pipeline = model.Create();
        await using var app = ClassifierServiceApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Classifier:Kind", "vit", "--Classifier:Path", "(built in memory)",
             "--Logging:LogLevel:Default", "Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime", "Warning"],
            services => services.AddSingleton<ClassifierFactory>(_ => pipeline));
        await app.StartAsync();
        var loaded = app.Services.GetRequiredService<LoadedClassifier>();
        while (!loaded.IsLoaded) await Task.Delay(20);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var channel = DctChannel.Create(address);
        var client = new Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient(channel);

        await CheckSameResultsAsync(client, pipeline, image);

        var (classifyLocal, classifyGrpc) = await Timing.MeasureInterleavedAsync(
            () => { using var logits = pipeline.Classify(image); },
            () => ClassifyAsync(client, image),
            model.Warmup, model.Repetitions);
        var (lossLocal, lossGrpc) = await Timing.MeasureInterleavedAsync(
            () => { using var result = pipeline.LossAndGradient(image, [Target]); },
            async () => { using var gradient = await LossAndGradientAsync(client, image); },
            model.Warmup, model.Repetitions);
        await app.StopAsync();

        return
        [
            Row(model.Name, "Classify", classifyLocal, classifyGrpc),
            Row(model.Name, "LossAndGradient", lossLocal, lossGrpc),
        ];
    }

    private static async Task CheckSameResultsAsync(Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient client,
                                                    ClassifierPipeline pipeline, Tensor image)
    {
        using var gradient = await LossAndGradientAsync(client, image);
        using var expected = pipeline.LossAndGradient(image, [Target]);
        using var difference = (gradient - expected.ImageGradient).abs().max();
        using var scale = expected.ImageGradient.abs().max();
        if (difference.item<float>() > 1e-5f * scale.item<float>())
            throw new InvalidOperationException("The gradient from the service differs from the in-process one.");
    }

    private static async Task ClassifyAsync(Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient client, Tensor image)
    {
        using var call = client.Classify();
        using (var encoded = PooledTensorEncoding.Encode(image))
        {
            foreach (var chunk in encoded.Split())
                await call.RequestStream.WriteAsync(new ClassifyRequest { Images = chunk });
        }
        await call.RequestStream.CompleteAsync();
        var response = await call.ResponseAsync;
        if (response.Predictions.Count != 1) throw new InvalidOperationException("Expected one prediction.");
    }

    private static async Task<Tensor> LossAndGradientAsync(Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient client, Tensor image)
    {
        using var call = client.LossAndGradient();
        using (var encoded = PooledTensorEncoding.Encode(image))
        {
            bool first = true;
            foreach (var chunk in encoded.Split())
            {
                var request = new LossAndGradientRequest { Images = chunk };
                if (first) request.TargetClassIds.Add(Target);
                first = false;
                await call.RequestStream.WriteAsync(request);
            }
        }
        await call.RequestStream.CompleteAsync();
        using var assembler = new TorchTensorAssembler();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
            assembler.Add(response.ImageGradient);
        return assembler.GetResult();
    }

    private static ClassifierPipeline LoadTiny()
    {
        string folder = Path.Combine(RepositoryRoot(), "tests", "data", "sd-tiny", "vit-tiny");
        return ClassifierLoader.LoadVit(folder, CPU);
    }

    /// <summary>
    /// google/vit-base-patch16-224's shape (hidden 768, 12 layers, 12 heads, MLP 3072, patch 16, image 224, 1000
    /// labels) with random weights: transformers' initialization (normal 0.02, zero biases, layer norms 1 and 0).
    /// </summary>
    private static ClassifierPipeline CreateVitBase()
    {
        var config = new VitConfig(
            HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072, HiddenAct: VitActivation.Gelu,
            LayerNormEps: 1e-12, ImageHeight: 224, ImageWidth: 224, PatchHeight: 16, PatchWidth: 16, NumChannels: 3,
            QkvBias: true, ModelType: "vit", Labels: Enumerable.Range(0, 1000).Select(i => $"LABEL_{i}").ToArray());
        var model = new VitForImageClassification(config, VitPooling.ClsToken);
        using (no_grad())
        {
            var generator = new Generator(0);
            var norms = model.named_modules().Where(m => m.module is LayerNorm).Select(m => m.name).ToHashSet();
            foreach (var (name, parameter) in model.named_parameters())
            {
                int dot = name.LastIndexOf('.');
                string owner = dot < 0 ? "" : name[..dot];
                if (norms.Contains(owner))
                    parameter.fill_(name.EndsWith(".weight", StringComparison.Ordinal) ? 1.0 : 0.0);
                else if (name.EndsWith(".bias", StringComparison.Ordinal))
                    parameter.zero_();
                else
                    parameter.normal_(0, 0.02, generator);
            }
        }
        return new ClassifierPipeline(model, ClassifierPreprocessing.ReferenceImageNet(), "vit-b16-random");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DiscriminativeTokens.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("DiscriminativeTokens.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Row(string model, string call, Stats local, Stats grpc) => Invariant(
        $"| {model} | {call} | {Ms(local)} | {Ms(grpc)} | {grpc.Median / local.Median:0.00} | {(grpc.Median - local.Median) * 1e3:0.0} |");

    private static string Ms(Stats stats) => Invariant($"{stats.Median * 1e3:0.0} ({stats.P10 * 1e3:0.0}-{stats.P90 * 1e3:0.0})");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
