using DiscriminativeTokens.Torch;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>
/// The arithmetic of one guided sampling run, shared by the forward pass and the recomputation in the backward pass
/// so both follow the same trajectory: starting latents, model input, the classifier-free-guided UNet call, the
/// scheduler step and the decode to an image in [0, 1]. Every method is differentiable; grad mode is the caller's.
/// </summary>
internal sealed class GuidedDenoiser(StableDiffusionModel model, SamplingLoopStyle style, double guidanceScale)
{
    /// <summary>diffusers runs the unconditional branch only when the scale exceeds 1.</summary>
    private bool UsesGuidance => guidanceScale > 1.0;

    public Tensor StartingLatents(Scheduler scheduler, Tensor noise) =>
        style == SamplingLoopStyle.Proper ? noise.Times(scheduler.InitNoiseSigma) : noise.alias();

    public Tensor ModelInput(Scheduler scheduler, Tensor latents, int stepIndex) =>
        style == SamplingLoopStyle.Proper ? scheduler.ScaleModelInput(latents, stepIndex) : latents.alias();

    /// <summary>The guided model output u + w·(c − u) for a [1, C, h, w] input; <paramref name="context"/> is
    /// cat([unconditional, conditional]).</summary>
    public Tensor Predict(Tensor modelInput, Tensor timestep, Tensor context)
    {
        using var scope = NewDisposeScope();
        if (!UsesGuidance)
            return model.Unet.forward(modelInput, timestep, context.narrow(0, 1, 1)).MoveToOuterDisposeScope();
        var both = model.Unet.forward(cat([modelInput, modelInput]), timestep, context);
        var unconditional = both.narrow(0, 0, 1);
        var conditional = both.narrow(0, 1, 1);
        return unconditional.Plus((conditional - unconditional).Times(guidanceScale)).MoveToOuterDisposeScope();
    }

    /// <summary>One UNet call and scheduler step: the latents at <c>Timesteps[stepIndex + 1]</c>.</summary>
    public Tensor Step(Scheduler scheduler, Tensor latents, int stepIndex, Tensor timesteps, Tensor context)
    {
        using var scope = NewDisposeScope();
        var prediction = Predict(ModelInput(scheduler, latents, stepIndex), timesteps[stepIndex], context);
        return scheduler.Step(prediction, stepIndex, latents).MoveToOuterDisposeScope();
    }

    /// <summary>(decode(latents / scaling factor) / 2 + 0.5).clamp(0, 1). The reference loop multiplies by the
    /// reciprocal, as run.py does.</summary>
    public Tensor DecodeImage(Tensor latents)
    {
        using var scope = NewDisposeScope();
        double scaling = model.Vae.ScalingFactor;
        var decoderInput = style == SamplingLoopStyle.Reference ? latents.Times(1.0 / scaling) : latents.DividedBy(scaling);
        var decoded = model.Vae.Decode(decoderInput);
        return decoded.DividedBy(2L).Plus(0.5).Clamped(0.0, 1.0).MoveToOuterDisposeScope();
    }
}
