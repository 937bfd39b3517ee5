using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>
/// The differentiable half of learning a discriminative token: generate an image from a prompt whose placeholder
/// token has the input embedding v, then turn dLoss/dImage (from a classifier elsewhere) into dLoss/dv.
/// <code>
/// using var forward = sampler.Forward(options, v);          // forward.Image: [1, 3, H, W] in [0, 1]
/// using var gradient = sampler.Backward(forward, dLossdImage); // gradient.Gradient: [hidden]
/// </code>
/// Only the UNet calls chosen by <see cref="TokenGradientOptions.GradientMode"/> are differentiated; the gradient
/// reaches v through the text context of each of them. The model's weights take no part in autograd and never
/// change. The sampler holds no per-run state: concurrent forward passes on one model are independent.
/// </summary>
public sealed class TokenGradientSampler(StableDiffusionModel model)
{
    private readonly PromptEncoder _promptEncoder = new(model.Tokenizer, model.TextEncoder);

    /// <summary>Samples with <paramref name="tokenVector"/> ([hidden]; copied, so the caller may change it
    /// afterwards) as the placeholder's embedding, keeping what <see cref="TokenGradientOptions.MemoryMode"/> says.
    /// <paramref name="cancellationToken"/> is checked before every UNet call.</summary>
    public TokenGradientForward Forward(TokenGradientOptions options, Tensor tokenVector,
                                        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!double.IsFinite(options.GuidanceScale))
            throw new ArgumentOutOfRangeException(nameof(options), options.GuidanceScale, "The guidance scale must be finite.");
        using var scope = NewDisposeScope();
        Tensor vector = CopyVector(tokenVector);
        Tensor noise = StartingNoise(options);

        Scheduler scheduler = model.CreateScheduler(options.Scheduler);
        Scheduler? fork = null;
        try
        {
            scheduler.SetTimesteps(options.Steps, model.Device);
            int calls = scheduler.ModelCallsPerRun;
            int firstCall = options.GradientMode.FirstDifferentiatedCall(options.Steps, calls);
            bool keepGraph = options.MemoryMode == GradientMemoryMode.KeepGraph;
            var denoiser = new GuidedDenoiser(model, options.LoopStyle, options.GuidanceScale);
            Tensor timesteps = scheduler.TimestepsTensor(model.Device);

            // With KeepGraph the context is differentiated now; its graph survives the no-grad calls unused.
            if (keepGraph) vector.requires_grad_(true);
            PromptConditioning conditioning;
            using (keepGraph ? enable_grad() : no_grad())
                conditioning = EncodePrompt(options, vector);
            Tensor context = conditioning.Embeddings;

            Tensor latents;
            Tensor Call(int call)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var next = StepInOwnScope(denoiser, scheduler, latents, call, timesteps, context);
                options.Progress?.Report(new DenoisingProgress(call + 1, calls, scheduler.Timesteps[call]));
                return next;
            }

            using (no_grad())
            {
                latents = denoiser.StartingLatents(scheduler, noise);
                for (int call = 0; call < firstCall; call++)
                    latents = Call(call);
            }
            // Recompute resumes here: the latents and the scheduler's history are all the earlier calls leave behind.
            if (!keepGraph) fork = scheduler.Fork();
            Tensor startLatents = latents.detach();

            Tensor image;
            using (keepGraph ? enable_grad() : no_grad())
            {
                for (int call = firstCall; call < calls; call++)
                    latents = Call(call);
                image = denoiser.DecodeImage(latents);
            }

            BackwardState state = keepGraph
                ? new RetainedGraph(image.DetachFromDisposeScope(), vector.DetachFromDisposeScope())
                : new RecomputeCheckpoint(denoiser, v => EncodePrompt(options, v), vector.DetachFromDisposeScope(),
                                          startLatents.DetachFromDisposeScope(), fork!, firstCall);
            fork = null;
            var callsWithGradient = Enumerable.Range(0, calls).Select(call => call >= firstCall).ToArray();
            return new TokenGradientForward(options, scheduler.ClassName, image.detach().DetachFromDisposeScope(),
                                            latents.detach().DetachFromDisposeScope(), callsWithGradient,
                                            conditioning.Warnings, state);
        }
        finally
        {
            fork?.Dispose();
            scheduler.Dispose();
        }
    }

    /// <summary>
    /// dLoss/dv from <paramref name="imageGradient"/> = dLoss/dImage, shaped like <see cref="TokenGradientForward.Image"/>.
    /// A KeepGraph handle allows one backward pass, a Recompute handle any number.
    /// </summary>
    public TokenGradient Backward(TokenGradientForward forward, Tensor imageGradient)
    {
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(imageGradient);
        BackwardState state = forward.State;
        Tensor image = forward.Image;
        if (!imageGradient.shape.SequenceEqual(image.shape))
            throw new ArgumentException($"dLoss/dImage has shape [{string.Join(", ", imageGradient.shape)}]; the image is " +
                                        $"[{string.Join(", ", image.shape)}].", nameof(imageGradient));
        using var scope = NewDisposeScope();
        Tensor gradient = state.Backward(imageGradient.detach().to(ScalarType.Float32, image.device));
        return new TokenGradient(gradient.reshape(-1).MoveToOuterDisposeScope(), forward.DifferentiatedCalls);
    }

    private PromptConditioning EncodePrompt(TokenGradientOptions options, Tensor vector) =>
        _promptEncoder.Encode(options.Prompt, options.NegativePrompt, options.Padding,
                              new LearnedToken(options.Placeholder, vector));

    /// <summary>One call and step with its temporaries freed at once (long runs would otherwise pile them up).</summary>
    private static Tensor StepInOwnScope(GuidedDenoiser denoiser, Scheduler scheduler, Tensor latents, int call,
                                         Tensor timesteps, Tensor context)
    {
        using var scope = NewDisposeScope();
        return denoiser.Step(scheduler, latents, call, timesteps, context).MoveToOuterDisposeScope();
    }

    private Tensor CopyVector(Tensor tokenVector)
    {
        ArgumentNullException.ThrowIfNull(tokenVector);
        int hidden = model.TextHiddenSize;
        if (tokenVector.numel() != hidden || !tokenVector.is_floating_point())
            throw new ArgumentException($"The token vector must hold {hidden} floating-point values (the text encoder's " +
                                        $"hidden size); got {tokenVector.dtype} [{string.Join(", ", tokenVector.shape)}].",
                                        nameof(tokenVector));
        return tokenVector.detach().reshape(hidden).to(ScalarType.Float32, model.Device, copy: true);
    }

    /// <summary>The latents before init_noise_sigma: the given ones, or diffusers' prepare_latents with a CPU
    /// torch.Generator(seed) (drawn on the CPU, then moved, so a seed means the same noise on every device).</summary>
    private Tensor StartingNoise(TokenGradientOptions options)
    {
        long channels = model.Unet.Config.InChannels;
        int factor = model.VaeScaleFactor;
        if (options.InitialLatents is { } given)
        {
            if (given.dim() != 4 || given.shape[0] != 1 || given.shape[1] != channels || !given.is_floating_point())
                throw new ArgumentException($"Initial latents must be floating-point [1, {channels}, h, w]; got {given.dtype} " +
                                            $"[{string.Join(", ", given.shape)}].", nameof(options));
            if ((options.Height is { } h && h != given.shape[2] * factor) || (options.Width is { } w && w != given.shape[3] * factor))
                throw new ArgumentException($"Height/width {options.Height}x{options.Width} disagree with the initial latents " +
                                            $"[{string.Join(", ", given.shape)}] (VAE factor {factor}).", nameof(options));
            return given.detach().to(ScalarType.Float32, model.Device, copy: true);
        }

        int height = options.Height ?? model.SampleSize;
        int width = options.Width ?? model.SampleSize;
        if (height <= 0 || width <= 0 || height % factor != 0 || width % factor != 0)
            throw new ArgumentException($"Height and width must be positive multiples of {factor} (the VAE factor); got " +
                                        $"{height}x{width}.", nameof(options));
        using var generator = new Generator(unchecked((ulong)options.Seed), CPU);
        using var cpuNoise = randn([1, channels, height / factor, width / factor], ScalarType.Float32, CPU, generator: generator);
        return cpuNoise.to(model.Device, copy: true);
    }
}
