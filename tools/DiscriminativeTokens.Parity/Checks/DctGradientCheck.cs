using System.Globalization;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>
/// The diffusion half of the reference DCT training step (reference/dct.safetensors) through
/// <see cref="TokenGradientSampler"/>: run.py's forward (unpadded training prompt, no init_noise_sigma or
/// scale_model_input) to the final latents and image, then the reference dLoss/dImage back to dLoss/dToken, for each
/// classifier's run and each gradient mode (partial = the reference's, lastonly = last UNet call, full = every call).
/// </summary>
public sealed class DctGradientCheck : ParityCheck
{
    private static readonly (string Name, GradientMode Mode)[] Modes =
    [
        ("partial", GradientMode.Reference),
        ("lastonly", GradientMode.LastK(1)),
        ("full", GradientMode.Full),
    ];

    public override string Component => "dct_gradient";

    public override string Description =>
        "the diffusion half of one reference training step (run.py) for the conv/* and vit/* runs: final latents and " +
        "image of the training forward, and dLoss/dToken from the reference dLoss/dImage in the partial, lastonly and " +
        "full gradient modes";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("dct.safetensors");
        var sampler = new TokenGradientSampler(fixture.Model);
        foreach (string prefix in new[] { "conv", "vit" })
        {
            foreach (var (modeName, mode) in Modes)
            {
                using var scope = NewDisposeScope();
                var options = new TokenGradientOptions
                {
                    Prompt = file.Metadata("prompt"),
                    Placeholder = file.Metadata("placeholder"),
                    NegativePrompt = "",
                    InitialLatents = file.Read("init_latent").to(fixture.Device),
                    Steps = int.Parse(file.Metadata("num_of_SD_inference_steps"), CultureInfo.InvariantCulture),
                    GuidanceScale = double.Parse(file.Metadata("guidance_scale"), CultureInfo.InvariantCulture),
                    Padding = PromptPaddingMode.ReferenceUnpadded,
                    LoopStyle = SamplingLoopStyle.Reference,
                    MemoryMode = GradientMemoryMode.Recompute,
                    GradientMode = mode,
                };
                using var forward = sampler.Forward(options, file.Read("placeholder_embedding_init").reshape(-1).to(fixture.Device));
                // The forward is the same in every mode; report it once per run.
                if (modeName == "partial")
                {
                    yield return Compare(file, $"{prefix}/final_latents", Tolerance.Forward, () => forward.FinalLatents.clone());
                    yield return Compare(file, $"{prefix}/image", Tolerance.Forward, () => forward.Image.clone());
                }
                yield return Compare(file, $"{prefix}/{modeName}/grad_placeholder_embedding", Tolerance.Gradient, () =>
                {
                    using var gradient = sampler.Backward(forward, file.Read($"{prefix}/{modeName}/grad_image").to(fixture.Device));
                    return gradient.Gradient.reshape(1, -1).clone();
                });
            }
        }
    }
}
