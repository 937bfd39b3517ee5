using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Diffusion.Training;
using DiscriminativeTokens.Orchestration.Backends;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Orchestration.InProcess;

/// <summary>
/// The diffusion backend over a <see cref="DiffusionEngine"/> in this process: the same validation, limits and
/// gradient sessions the diffusion service runs, without the transport. The engine stays the caller's.
/// </summary>
public sealed class InProcessDiffusionBackend(DiffusionEngine engine, string name = "in-process") : IDiffusionBackend
{
    public string Name { get; } = name;
    public string Address => "in-process";

    public Task<DiffusionModelInfo> GetModelInfoAsync(CancellationToken cancellationToken)
    {
        var d = engine.Description;
        return Task.FromResult(new DiffusionModelInfo(d.ModelId, d.TextHiddenSize, d.SampleSize, d.VaeScaleFactor,
            d.LatentChannels, d.Scheduler, d.AvailableSchedulers, d.MaxTokenLength, d.TextEncoderSha256,
            engine.Limits.MaxSteps, engine.Limits.MaxImageSize, d.Device));
    }

    public Task<float[]> GetTokenEmbeddingAsync(string word, CancellationToken cancellationToken) =>
        Task.FromResult(DiffusionRejections.Guard(Name, () => TokenEmbeddingLookup.Lookup(engine.Model, word).Embedding));

    public Task<IDiffusionGradientSession> OpenGradientSessionAsync(GradientSessionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var session = DiffusionRejections.Guard(Name, () =>
        {
            var settings = new SessionSettings(options.Placeholder, GradientModeOf(options), MemoryModeOf(options.MemoryMode),
                                               SamplingLoopStyle.Proper);
            return engine.Sessions.Open(settings);
        });
        return Task.FromResult<IDiffusionGradientSession>(new Session(engine, session, Name));
    }

    public Task<TensorData> GenerateAsync(SamplingSettings sampling, LearnedTokenVector? token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        return DiffusionRejections.GuardAsync(Name, () =>
        {
            using var scope = NewDisposeScope();
            var validator = engine.Validator;
            var resolved = validator.Resolve(Request(sampling));
            LearnedToken? learned = null;
            if (token is not null)
            {
                validator.CheckPlaceholder(token.Placeholder, "token.placeholder");
                SamplingValidator.CheckPromptHasPlaceholder(resolved.Prompt, token.Placeholder);
                var received = TensorDataTorch.ToTensor(TensorData.Vector(token.Embedding));
                learned = new LearnedToken(token.Placeholder, validator.TokenVector(received, "token.embedding"));
            }
            using var lease = engine.Limiter.Acquire(WorkKind.Generation);
            var image = new ImageCollector();
            engine.Generation.Run(new GenerationRequest(resolved, learned, 1), image, cancellationToken);
            return image.Image ?? throw new InvalidOperationException("The generation produced no image.");
        }, cancellationToken);
    }

    internal static SamplingRequest Request(SamplingSettings s) => new()
    {
        Prompt = s.Prompt,
        NegativePrompt = s.NegativePrompt,
        Seed = unchecked((long)s.Seed),
        Steps = s.Steps,
        GuidanceScale = s.GuidanceScale,
        Width = s.Width,
        Height = s.Height,
        Scheduler = s.Scheduler,
        Padding = s.Padding == PromptPadding.ReferenceUnpadded ? PromptPaddingMode.ReferenceUnpadded : PromptPaddingMode.MaxLength,
    };

    private static GradientMode GradientModeOf(GradientSessionOptions options) => options.Path switch
    {
        GradientPath.Reference => GradientMode.Reference,
        GradientPath.Full => GradientMode.Full,
        GradientPath.LastK when options.LastKCalls >= 1 => GradientMode.LastK(options.LastKCalls),
        GradientPath.LastK => throw RequestRejectedException.Invalid(
            $"LastKCalls = {options.LastKCalls}: the LastK gradient path needs at least 1 (1 = the last UNet call only)."),
        var other => throw RequestRejectedException.Invalid($"Gradient path {other} is not known."),
    };

    private static GradientMemoryMode MemoryModeOf(SessionMemoryMode mode) => mode switch
    {
        SessionMemoryMode.KeepGraph => GradientMemoryMode.KeepGraph,
        SessionMemoryMode.Recompute => GradientMemoryMode.Recompute,
        var other => throw RequestRejectedException.Invalid($"Session memory mode {other} is not known."),
    };

    /// <summary>Keeps a copy of the one generated image.</summary>
    private sealed class ImageCollector : IGenerationObserver
    {
        public TensorData? Image { get; private set; }
        public void OnWarning(string message) { }
        public void OnProgress(int imageIndex, DenoisingProgress progress) { }
        public void OnImage(int imageIndex, long seed, Tensor image) => Image = TensorDataTorch.ToTensorData(image);
    }

    /// <summary>A gradient session of the engine; forwards and backwards run on thread-pool threads so they overlap.</summary>
    private sealed class Session(DiffusionEngine engine, GradientSession session, string name) : IDiffusionGradientSession
    {
        public Task<ForwardResult> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(request);
            return DiffusionRejections.GuardAsync(name, () =>
            {
                using var scope = NewDisposeScope();
                var validator = engine.Validator;
                Tensor? latents = null;
                (int, int)? impliedSize = null;
                if (request.InitialLatents is { } initial)
                {
                    latents = TensorDataTorch.ToTensor(initial);
                    impliedSize = validator.LatentImageSize(latents, "forward.initial_latents");
                }
                var sampling = validator.Resolve(Request(request.Sampling), impliedSize);
                SamplingValidator.CheckPromptHasPlaceholder(sampling.Prompt, session.Settings.Placeholder);
                var vector = validator.TokenVector(TensorDataTorch.ToTensor(TensorData.Vector(request.TokenEmbedding)),
                                                   "forward.token_embedding");
                using var result = session.Forward(new SessionForward(request.ForwardId, sampling, vector, latents), null,
                                                   cancellationToken);
                return new ForwardResult(request.ForwardId, TensorDataTorch.ToTensorData(result.Image), result.Warnings);
            }, cancellationToken);
        }

        public Task<TokenGradientResult> BackwardAsync(ulong forwardId, TensorData imageGradient, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(imageGradient);
            return DiffusionRejections.GuardAsync(name, () =>
            {
                using var scope = NewDisposeScope();
                using var gradient = session.Backward(forwardId, TensorDataTorch.ToTensor(imageGradient));
                return new TokenGradientResult(forwardId, TensorDataTorch.ToArray(gradient.Gradient), gradient.DifferentiatedCalls);
            }, cancellationToken);
        }

        public Task ReleaseAsync(ulong forwardId, CancellationToken cancellationToken)
        {
            session.Release(forwardId);
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            session.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
