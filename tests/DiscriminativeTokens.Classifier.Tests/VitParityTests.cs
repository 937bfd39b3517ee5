using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Models.Vit;
using DiscriminativeTokens.Classification.Preprocessing;
using DiscriminativeTokens.Torch;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>
/// vit-tiny and its preprocessing against transformers 4.26 / kornia 0.6.11 (reference/vit.safetensors). Forward
/// tensors: max abs error ≤ 1e-4 · max(1, max |ref|); gradients: ≤ 1e-3 · max |ref|.
/// </summary>
public sealed class VitParityTests(ITestOutputHelper output)
{
    [Fact]
    public void LogitsMatchTransformers()
    {
        using var model = VitForImageClassification.Load(Fixture.VitFolder, CPU);
        using var reference = new SafetensorsFile(Fixture.VitReference);
        using var pixels = reference.Read("pixel_values");
        using var expected = reference.Read("logits");
        using var _ = no_grad();
        using var logits = model.forward(pixels);
        Parity.AssertForwardClose(logits, expected, "logits", output);
        Assert.Equal(VitPooling.ClsToken, model.Pooling);
    }

    [Fact]
    public void GradientOfTargetLogitWrtPixelValuesMatches()
    {
        using var model = VitForImageClassification.Load(Fixture.VitFolder, CPU);
        using var reference = new SafetensorsFile(Fixture.VitReference);
        long target = reference.Read("target").item<long>();
        using var pixels = reference.Read("pixel_values").requires_grad_(true);
        using var expected = reference.Read("grad_logit_wrt_pixel_values");
        using var scope = NewDisposeScope();
        var logit = model.forward(pixels)[0, target];
        var gradient = torch.autograd.grad([logit], [pixels])[0];
        Parity.AssertGradientClose(gradient, expected, "grad_logit_wrt_pixel_values", output);
    }

    [Fact]
    public void EachPreprocessingStepMatchesKornia()
    {
        using var reference = new SafetensorsFile(Fixture.VitReference);
        using var scope = NewDisposeScope();
        var steps = Fixture.TinyReferencePreprocessing;
        var raw = reference.Read("raw_image");
        var resized = steps.Resize!.Apply(raw);
        Parity.AssertForwardClose(resized, reference.Read("resized40"), "resized40", output);
        // Each step from the reference's own input, so an error is attributed to one step.
        var cropped = steps.Crop!.Apply(reference.Read("resized40"));
        Parity.AssertForwardClose(cropped, reference.Read("cropped32"), "cropped32", output);
        var normalized = steps.Normalize!.Apply(reference.Read("cropped32"));
        Parity.AssertForwardClose(normalized, reference.Read("pixel_values"), "pixel_values", output);
        Parity.AssertForwardClose(steps.Apply(raw), reference.Read("pixel_values"), "pixel_values (all steps)", output);
    }

    [Fact]
    public void GradientOfTargetLogitWrtRawImageFlowsThroughThePreprocessing()
    {
        using var pipeline = new ClassifierPipeline(VitForImageClassification.Load(Fixture.VitFolder, CPU),
                                                    Fixture.TinyReferencePreprocessing, "vit-tiny");
        using var reference = new SafetensorsFile(Fixture.VitReference);
        long target = reference.Read("target").item<long>();
        using var raw = reference.Read("raw_image").requires_grad_(true);
        using var expected = reference.Read("grad_logit_wrt_raw_image");
        using var scope = NewDisposeScope();
        var logit = pipeline.Model.forward(pipeline.Preprocess(raw))[0, target];
        var gradient = torch.autograd.grad([logit], [raw])[0];
        Parity.AssertGradientClose(gradient, expected, "grad_logit_wrt_raw_image", output);
    }

    [Fact]
    public void FractionalCenterCropInterpolatesAsKornia()
    {
        // 37x45 → 32x32 starts at (2.5, 6.5): kornia samples between pixels.
        using var reference = new SafetensorsFile(Fixture.VitReference);
        using var input = reference.Read("crop_fractional/input");
        using var expected = reference.Read("crop_fractional/output");
        using var actual = CenterCropStep.Create(32, 32, CenterCropStyle.Kornia).Apply(input);
        Parity.AssertForwardClose(actual, expected, "crop_fractional/output", output);
        // Slicing at either neighbouring offset would be visibly wrong, so the test can fail.
        using var sliced = input.narrow(2, 2, 32).narrow(3, 6, 32);
        Assert.True(Parity.MaxAbsError(sliced, expected) > 1e-2);
    }

    [Fact]
    public void ImageNetReferencePreprocessingMatchesAtFullSize()
    {
        // 64x64 → bicubic 256 → kornia crop 224 → normalize 0.5: the reference method's default for ImageNet ViTs.
        using var reference = new SafetensorsFile(Fixture.VitReference);
        using var raw = reference.Read("inet/raw_image");
        using var expected = reference.Read("inet/pixel_values");
        var preprocessing = ClassifierPreprocessing.ReferenceImageNet();
        Assert.Equal("resize shorter side to 256 (bicubic, no antialias), center crop 224 (kornia: half-pixel offsets " +
                     "interpolated bilinearly), normalize mean 0.5 std 0.5", preprocessing.Describe());
        using var actual = preprocessing.Apply(raw);
        Parity.AssertForwardClose(actual, expected, "inet/pixel_values", output);
    }
}
