using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Diffusion.Training;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Testing;
using static TorchSharp.torch;
using DomainPadding = DiscriminativeTokens.Orchestration.Backends.PromptPadding;

namespace DiscriminativeTokens.Downstream.Tests;

/// <summary>
/// One DiffusionService (sd-tiny) and one ClassifierService (vit-tiny) process shared by the "downstream services"
/// collection, and the same models in process for comparison. The test process uses one LibTorch thread, as the
/// diffusion service does, so both sides run the same kernels in the same order.
/// </summary>
public sealed class DownstreamFixture : IAsyncLifetime
{
    public const string Placeholder = "newclas";
    public const int TargetClass = 3;

    public ServiceProcess Diffusion { get; private set; } = null!;
    public ServiceProcess Classifier { get; private set; } = null!;
    public DiffusionEngine Engine { get; private set; } = null!;
    public ClassifierPipeline InProcessClassifier { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        set_num_threads(1);
        Engine = new DiffusionEngine(StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU), new ServingLimits());
        InProcessClassifier = Services.LoadClassifierInProcess();
        Diffusion = await Services.StartDiffusionAsync();
        Classifier = await Services.StartClassifierAsync();
    }

    public async Task DisposeAsync()
    {
        if (Diffusion is not null) await Diffusion.DisposeAsync();
        if (Classifier is not null) await Classifier.DisposeAsync();
        InProcessClassifier?.Dispose();
        Engine?.Dispose();
    }

    /// <summary>Training-like sampling: the placeholder before the class name, few steps, the tiny model's size.</summary>
    public static SamplingSettings Sampling(ulong seed = 35, string prompt = "a photo of newclas tiger cat", int steps = 4) =>
        new(prompt, seed, steps, GuidanceScale: 7, Width: 32, Height: 32, Scheduler: null, DomainPadding.MaxLength);

    public static GradientSessionOptions SessionOptions(SessionMemoryMode memory = SessionMemoryMode.Recompute) =>
        new(Placeholder, GradientPath.LastK, LastKCalls: 2, memory);

    /// <summary>A gradient session of the domain code in this process, with the settings the gRPC session maps to.</summary>
    public GradientSession OpenInProcessSession(GradientSessionOptions options) =>
        Engine.Sessions.Open(new SessionSettings(options.Placeholder, GradientMode.LastK(options.LastKCalls),
            options.MemoryMode == SessionMemoryMode.Recompute ? GradientMemoryMode.Recompute : GradientMemoryMode.KeepGraph,
            SamplingLoopStyle.Proper));

    public ResolvedSampling Resolve(SamplingSettings sampling) => Engine.Validator.Resolve(new SamplingRequest
    {
        Prompt = sampling.Prompt, Seed = (long)sampling.Seed, Steps = sampling.Steps, GuidanceScale = sampling.GuidanceScale,
        Width = sampling.Width, Height = sampling.Height, Scheduler = sampling.Scheduler,
        Padding = sampling.Padding == DomainPadding.MaxLength ? PromptPaddingMode.MaxLength : PromptPaddingMode.ReferenceUnpadded,
    });

    /// <summary>One micro-step with the domain code in this process: forward, classifier loss and dImage, backward.</summary>
    public InProcessStep MicroStepInProcess(SamplingSettings sampling, GradientSessionOptions options, float[] token)
    {
        using var scope = NewDisposeScope();
        using var session = OpenInProcessSession(options);
        var vector = tensor(token);
        using var forward = session.Forward(new SessionForward(1, Resolve(sampling), vector, null), null, CancellationToken.None);
        using var loss = InProcessClassifier.LossAndGradient(forward.Image, [TargetClass]);
        using var gradient = session.Backward(1, loss.ImageGradient);
        return new InProcessStep(ToData(forward.Image), loss.Losses[0], loss.PredictedClassIds[0], loss.TargetProbabilities[0],
                                 ToData(loss.ImageGradient), ToData(gradient.Gradient).Values, gradient.DifferentiatedCalls);
    }

    public static TensorData ToData(Tensor t) => new(t.detach().cpu().contiguous().data<float>().ToArray(), t.shape);

    public static Tensor ToTensor(TensorData d) => tensor(d.Values).reshape(d.Shape);
}

public sealed record InProcessStep(TensorData Image, float Loss, int Predicted, float TargetProbability,
                                   TensorData ImageGradient, float[] TokenGradient, int DifferentiatedCalls);

[CollectionDefinition(Name)]
public sealed class DownstreamCollection : ICollectionFixture<DownstreamFixture>
{
    public const string Name = "downstream services";
}
