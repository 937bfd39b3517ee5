using DiscriminativeTokens.Classification.Preprocessing;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>vit-tiny and the classifier preprocessing against transformers 4.26 / kornia 0.6.11 (reference/vit.safetensors).</summary>
public sealed class VitCheck : ParityCheck
{
    public override string Component => "vit";

    public override string Description =>
        "the classifier preprocessing step by step (bicubic resize of the shorter side, kornia center crop, also at " +
        "fractional offsets, normalize), the full-size ImageNet preprocessing, vit-tiny logits, and the gradient of the " +
        "target logit with respect to the pixel values and to the raw image through the preprocessing";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("vit.safetensors");
        var steps = TinyClassifierPreprocessing.Read(fixture);
        using var model = fixture.LoadVitClassifier();
        var device = fixture.Device;
        long target;
        using (var stored = file.Read("target")) target = stored.item<long>();

        // Each step from the reference's own input, so an error is attributed to one step.
        yield return Compare(file, "resized40", Tolerance.Forward, () => steps.Resize!.Apply(file.Read("raw_image")));
        yield return Compare(file, "cropped32", Tolerance.Forward, () => steps.Crop!.Apply(file.Read("resized40")));
        yield return Compare(file, "pixel_values", Tolerance.Forward, () => steps.Normalize!.Apply(file.Read("cropped32")));
        yield return Compare("pixel_values (from raw_image)", Tolerance.Forward,
                             () => file.Read("pixel_values"), () => steps.Apply(file.Read("raw_image")));
        yield return Compare(file, "crop_fractional/output", Tolerance.Forward, () =>
        {
            using var expected = file.Read("crop_fractional/output");
            var crop = CenterCropStep.Create((int)expected.shape[2], (int)expected.shape[3], CenterCropStyle.Kornia);
            return crop.Apply(file.Read("crop_fractional/input"));
        });
        yield return Compare(file, "inet/pixel_values", Tolerance.Forward,
                             () => ClassifierPreprocessing.ReferenceImageNet().Apply(file.Read("inet/raw_image")));

        yield return Compare(file, "logits", Tolerance.Forward, () => model.forward(file.Read("pixel_values").to(device)));
        yield return Compare(file, "grad_logit_wrt_pixel_values", Tolerance.Gradient,
                             () => TargetLogitGradient(file.Read("pixel_values").to(device), x => model.forward(x), target));
        yield return Compare(file, "grad_logit_wrt_raw_image", Tolerance.Gradient,
                             () => TargetLogitGradient(file.Read("raw_image").to(device), x => model.forward(steps.Apply(x)), target));
    }

    /// <summary>d logits[0, target] / d input (the comparison itself runs without autograd).</summary>
    private static Tensor TargetLogitGradient(Tensor input, Func<Tensor, Tensor> logits, long target)
    {
        using var gradMode = enable_grad();
        var leaf = input.detach().requires_grad_(true);
        var logit = logits(leaf)[0, target];
        return torch.autograd.grad([logit], [leaf])[0];
    }
}
