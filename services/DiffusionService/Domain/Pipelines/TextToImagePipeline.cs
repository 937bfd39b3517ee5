using DiscriminativeTokens.Torch;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>
/// Text-to-image sampling with classifier-free guidance, step for step as diffusers' StableDiffusionPipeline:
/// seeded noise times init_noise_sigma; per step scale_model_input, one UNet call on the doubled batch with the
/// [unconditional, conditional] context, u + w·(c − u), scheduler step; then decode(latents / scaling_factor) and
/// (x/2 + 0.5).clamp(0, 1). Runs without gradients; every temporary lives in a dispose scope, so long runs and many
/// runs keep only what they return.
/// </summary>
public sealed class TextToImagePipeline(StableDiffusionModel model)
{
    private readonly PromptEncoder _promptEncoder = new(model.Tokenizer, model.TextEncoder);

    public TextToImageResult Generate(TextToImageOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (width, height) = ResolveSize(options);
        CheckOptions(options);
        cancellationToken.ThrowIfCancellationRequested();

        using var runScope = NewDisposeScope();
        using var noGrad = no_grad();
        Device device = model.Device;
        bool guided = options.GuidanceScale > 1.0;
        int count = options.ImageCount;

        using var conditioning = _promptEncoder.Encode(options.Prompt, options.NegativePrompt, options.Padding, options.LearnedToken);
        // [2, L, hidden] → [uncond × N, cond × N] for the doubled batch, or the conditional rows alone without guidance.
        Tensor context = guided
            ? conditioning.Embeddings.repeat_interleave(count, 0)
            : conditioning.Embeddings.narrow(0, 1, 1).expand(count, -1, -1);
        ScalarType dtype = conditioning.Embeddings.dtype;

        using Scheduler scheduler = model.CreateScheduler(options.Scheduler);
        scheduler.SetTimesteps(options.Steps, device);
        Tensor timesteps = scheduler.TimestepsTensor(device);

        var latentShape = new long[] { count, model.Unet.Config.InChannels, height / model.VaeScaleFactor, width / model.VaeScaleFactor };
        (Tensor noise, long[] seeds) = options.InitialLatents is { } given
            ? (CheckLatents(given, latentShape).to(dtype, device), Array.Empty<long>())
            : SeededNoise(options.Seed, latentShape, device, dtype);
        Tensor latents = noise.Times(scheduler.InitNoiseSigma);

        int total = scheduler.ModelCallsPerRun;
        for (int i = 0; i < total; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double timestep = scheduler.Timesteps[i];
            Tensor next;
            using (NewDisposeScope())
            {
                Tensor input = scheduler.ScaleModelInput(latents, i);
                Tensor t = timesteps[i];
                Tensor modelOutput;
                if (guided)
                {
                    Tensor[] halves = model.Unet.forward(cat([input, input]), t, context).chunk(2);
                    Tensor unconditional = halves[0], conditional = halves[1];
                    modelOutput = unconditional.Plus((conditional - unconditional).Times(options.GuidanceScale));
                }
                else
                {
                    modelOutput = model.Unet.forward(input, t, context);
                }
                next = scheduler.Step(modelOutput, i, latents);
                options.StepObserver?.Invoke(new DenoisingStep(i, total, timestep, modelOutput, next));
                next.MoveToOuterDisposeScope();
            }
            latents.Dispose();
            latents = next;
            options.Progress?.Report(new DenoisingProgress(i + 1, total, timestep));
        }

        cancellationToken.ThrowIfCancellationRequested();
        Tensor decoded = model.Vae.Decode(latents.DividedBy(model.Vae.ScalingFactor));
        Tensor images = decoded.DividedBy(2L).Plus(0.5).Clamped(0, 1).to(ScalarType.Float32);
        return new TextToImageResult(images.MoveToOuterDisposeScope(), latents.MoveToOuterDisposeScope(), seeds,
                                     conditioning.Warnings);
    }

    /// <summary>
    /// Unit Gaussian latents, image i from its own CPU generator seeded with seed + i (so an image depends on its seed
    /// only, not on the device or its place in the batch), then moved to the device.
    /// </summary>
    private static (Tensor Noise, long[] Seeds) SeededNoise(long seed, long[] shape, Device device, ScalarType dtype)
    {
        long[] seeds = Enumerable.Range(0, (int)shape[0]).Select(i => seed + i).ToArray();
        long[] one = [1, .. shape[1..]];
        var parts = seeds.Select(s =>
        {
            // Negative seeds wrap to uint64 as torch.Generator.manual_seed does.
            using var generator = new Generator(unchecked((ulong)s), CPU);
            return randn(one, ScalarType.Float32, CPU, generator: generator);
        }).ToList();
        return (cat(parts).to(dtype, device), seeds);
    }

    private (int Width, int Height) ResolveSize(TextToImageOptions options)
    {
        int factor = model.VaeScaleFactor;
        Tensor? latents = options.InitialLatents;
        int width = options.Width ?? (latents is { } w && w.dim() == 4 ? (int)w.shape[3] * factor : model.SampleSize);
        int height = options.Height ?? (latents is { } h && h.dim() == 4 ? (int)h.shape[2] * factor : model.SampleSize);
        if (width <= 0 || height <= 0 || width % factor != 0 || height % factor != 0)
            throw new ArgumentException($"Image size {width}x{height} is not allowed: width and height must be positive " +
                                        $"multiples of {factor} (the VAE scale factor of {model.ModelId}).", nameof(options));
        return (width, height);
    }

    private static void CheckOptions(TextToImageOptions options)
    {
        if (options.Steps < 1)
            throw new ArgumentException($"Steps must be at least 1, not {options.Steps}.", nameof(options));
        if (!double.IsFinite(options.GuidanceScale))
            throw new ArgumentException($"The guidance scale must be a finite number, not {options.GuidanceScale}.", nameof(options));
        if (options.ImageCount < 1)
            throw new ArgumentException($"ImageCount must be at least 1, not {options.ImageCount}.", nameof(options));
    }

    private static Tensor CheckLatents(Tensor latents, long[] expected)
    {
        if (!latents.shape.SequenceEqual(expected))
            throw new ArgumentException($"Initial latents have shape [{string.Join(", ", latents.shape)}]; this request " +
                                        $"needs [{string.Join(", ", expected)}] (ImageCount, latent channels, height/f, width/f).");
        return latents;
    }
}
