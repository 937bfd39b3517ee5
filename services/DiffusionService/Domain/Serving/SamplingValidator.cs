using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>
/// Checks what callers send against the loaded model and the service limits before any work starts. Every refusal
/// is a <see cref="RequestRejectedException"/> (InvalidArgument) whose message names the field (as the contract
/// spells it), the value received and what would be accepted.
/// </summary>
public sealed class SamplingValidator(StableDiffusionModel model, ServingLimits limits)
{
    public const int DefaultSteps = 30;
    public const double DefaultGuidanceScale = 7.0;
    public const double MaxGuidanceScale = 30.0;

    /// <summary>Resolves defaults and checks ranges. <paramref name="impliedSize"/> is the size explicit starting
    /// latents imply; then width and height default to it and must agree with it.</summary>
    public ResolvedSampling Resolve(SamplingRequest request, (int Width, int Height)? impliedSize = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        int steps = request.Steps == 0 ? DefaultSteps : request.Steps;
        if (steps < 1 || steps > limits.MaxSteps)
            throw RequestRejectedException.Invalid(
                $"steps = {request.Steps} is out of range: use 1..{limits.MaxSteps} (Diffusion:MaxSteps), or 0 for the default {DefaultSteps}.");

        double guidance = request.GuidanceScale == 0 ? DefaultGuidanceScale : request.GuidanceScale;
        if (!double.IsFinite(guidance) || guidance < 1 || guidance > MaxGuidanceScale)
            throw RequestRejectedException.Invalid(
                $"guidance_scale = {request.GuidanceScale} is out of range: use 1..{MaxGuidanceScale} (1 turns classifier-free " +
                $"guidance off), or 0 for the default {DefaultGuidanceScale}.");

        int width = Side("width", request.Width, impliedSize?.Width);
        int height = Side("height", request.Height, impliedSize?.Height);

        string? scheduler = string.IsNullOrWhiteSpace(request.Scheduler) ? null : request.Scheduler.Trim();
        CheckScheduler(scheduler, steps);

        if (!Enum.IsDefined(request.Padding))
            throw RequestRejectedException.Invalid($"padding = {request.Padding} is not a known prompt padding.");

        return new ResolvedSampling(request.Prompt ?? "", request.NegativePrompt ?? "", request.Seed, steps, guidance,
                                    width, height, scheduler, request.Padding);
    }

    /// <summary>Checks a placeholder string: one word the tokenizer does not know yet.</summary>
    public void CheckPlaceholder(string? placeholder, string field)
    {
        if (string.IsNullOrEmpty(placeholder))
            throw RequestRejectedException.Invalid($"{field} is empty: give the placeholder string the prompts use for the " +
                                                   "learned token, e.g. \"newclas\".");
        try
        {
            model.Tokenizer.WithAddedToken(placeholder);
        }
        catch (ArgumentException e)
        {
            throw RequestRejectedException.Invalid($"{field} = \"{placeholder}\" cannot be a placeholder: {e.Message}");
        }
    }

    /// <summary>The prompt must name the placeholder, or the token would have no effect (and no gradient).</summary>
    public static void CheckPromptHasPlaceholder(string prompt, string placeholder)
    {
        if (!prompt.Contains(placeholder, StringComparison.Ordinal))
            throw RequestRejectedException.Invalid(
                $"The prompt \"{Shorten(prompt)}\" does not contain the placeholder \"{placeholder}\" (case-sensitive), so the " +
                $"learned token would have no effect; put it in the prompt, e.g. \"A photo of {placeholder} cat\".");
    }

    /// <summary>
    /// A token embedding as float32 [hidden] on the model's device (a new tensor the caller owns): the received
    /// tensor must hold text_hidden_size finite floating-point values, shaped [hidden] or [1, hidden].
    /// </summary>
    public Tensor TokenVector(Tensor received, string field)
    {
        int hidden = model.TextHiddenSize;
        string shape = $"[{string.Join(", ", received.shape)}]";
        bool shapeOk = received.shape is [var h] && h == hidden || received.shape is [1, var h2] && h2 == hidden;
        if (!shapeOk)
            throw RequestRejectedException.Invalid(
                $"{field} has shape {shape}; this model's token embeddings have {hidden} values (text_hidden_size of " +
                $"{model.ModelId}): send shape [{hidden}] or [1, {hidden}].");
        if (!received.is_floating_point())
            throw RequestRejectedException.Invalid($"{field} has dtype {received.dtype}; send float32 values.");
        using var scope = NewDisposeScope();
        var vector = received.detach().reshape(hidden).to(ScalarType.Float32);
        if (!vector.isfinite().all().item<bool>())
        {
            long bad = vector.isfinite().logical_not().sum().item<long>();
            throw RequestRejectedException.Invalid(
                $"{field} has {bad} NaN or infinite value(s) of {hidden}; every value must be finite (a diverged optimizer " +
                "step is the usual cause).");
        }
        return vector.to(model.Device, copy: true).MoveToOuterDisposeScope();
    }

    /// <summary>Checks explicit starting latents and returns the image size they imply.</summary>
    public (int Width, int Height) LatentImageSize(Tensor latents, string field)
    {
        long channels = model.Unet.Config.InChannels;
        int factor = model.VaeScaleFactor;
        if (latents.dim() != 4 || latents.shape[0] != 1 || latents.shape[1] != channels || latents.shape[2] < 1 || latents.shape[3] < 1)
            throw RequestRejectedException.Invalid(
                $"{field} has shape [{string.Join(", ", latents.shape)}]; send [1, {channels}, height / {factor}, width / {factor}] " +
                $"(latent_channels {channels}, vae_scale_factor {factor}).");
        if (!latents.is_floating_point())
            throw RequestRejectedException.Invalid($"{field} has dtype {latents.dtype}; send float32 values.");
        using (NewDisposeScope())
            if (!latents.isfinite().all().item<bool>())
                throw RequestRejectedException.Invalid($"{field} contains NaN or infinite values; every value must be finite.");
        long width = latents.shape[3] * factor, height = latents.shape[2] * factor;
        if (width > limits.MaxImageSize || height > limits.MaxImageSize)
            throw RequestRejectedException.Invalid(
                $"{field} implies a {width}x{height} image, larger than Diffusion:MaxImageSize = {limits.MaxImageSize}.");
        return ((int)width, (int)height);
    }

    /// <summary>Checks the number of images a Generate call asks for (0 = 1).</summary>
    public int ImageCount(int requested)
    {
        int count = requested == 0 ? 1 : requested;
        if (count < 1 || count > limits.MaxImagesPerRequest)
            throw RequestRejectedException.Invalid(
                $"num_images = {requested} is out of range: use 1..{limits.MaxImagesPerRequest} (Diffusion:MaxImagesPerRequest), " +
                "or 0 for one image.");
        return count;
    }

    private int Side(string name, int requested, int? implied)
    {
        int factor = model.VaeScaleFactor;
        if (implied is { } fromLatents)
        {
            if (requested != 0 && requested != fromLatents)
                throw RequestRejectedException.Invalid(
                    $"{name} = {requested} disagrees with the initial latents, which make images {fromLatents} pixels in " +
                    $"{name}; send 0 or {fromLatents}.");
            return fromLatents;
        }

        int side = requested == 0 ? model.SampleSize : requested;
        if (side < factor || side > limits.MaxImageSize)
            throw RequestRejectedException.Invalid(
                $"{name} = {requested} is out of range: use a multiple of {factor} (vae_scale_factor) from {factor} to " +
                $"{limits.MaxImageSize} (Diffusion:MaxImageSize), or 0 for the model's {model.SampleSize}.");
        if (side % factor != 0)
        {
            int below = side / factor * factor, above = below + factor;
            throw RequestRejectedException.Invalid(
                $"{name} = {requested} is not a multiple of {factor}, the VAE scale factor of {model.ModelId}; use " +
                $"{(below >= factor ? $"{below} or " : "")}{above}.");
        }
        return side;
    }

    private void CheckScheduler(string? name, int steps)
    {
        Scheduler scheduler;
        try
        {
            scheduler = model.CreateScheduler(name);
        }
        catch (SchedulerConfigException e)
        {
            throw RequestRejectedException.Invalid(
                $"scheduler = \"{name}\" is not available: {e.Message} Leave it empty for the model's own scheduler.");
        }
        using (scheduler)
        {
            int trained = scheduler.Options.NumTrainTimesteps;
            if (steps > trained)
                throw RequestRejectedException.Invalid(
                    $"steps = {steps} exceeds the {trained} training timesteps of {scheduler.ClassName}; use at most {trained}.");
            try
            {
                scheduler.SetTimesteps(steps);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                throw RequestRejectedException.Invalid($"{scheduler.ClassName} cannot run {steps} steps: {e.Message}");
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}
