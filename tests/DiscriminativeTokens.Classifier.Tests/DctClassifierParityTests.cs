using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Models;
using DiscriminativeTokens.Classification.Models.Vit;
using DiscriminativeTokens.Torch;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>
/// The classifier half of one reference training step (reference/dct.safetensors): the decoded image in [0, 1] goes
/// through the reference preprocessing and the classifier; cross-entropy against class 3 and its gradient with
/// respect to the image. Forward tensors: max abs error ≤ 1e-4 · max(1, max |ref|); gradients: ≤ 1e-3 · max |ref|.
/// </summary>
public sealed class DctClassifierParityTests(ITestOutputHelper output)
{
    private const int TargetClass = 3;

    [Fact]
    public void TinyConvClassifierMatchesTheReferenceStep() =>
        AssertStepMatches("conv", TinyConvClassifier.Load(Fixture.DctReference));

    [Fact]
    public void VitClassifierMatchesTheReferenceStep() =>
        AssertStepMatches("vit", VitForImageClassification.Load(Fixture.VitFolder, CPU));

    private void AssertStepMatches(string classifier, ImageClassifier model)
    {
        using var pipeline = new ClassifierPipeline(model, Fixture.TinyReferencePreprocessing, classifier);
        using var reference = new SafetensorsFile(Fixture.DctReference);
        Assert.Equal(TargetClass.ToString(), reference.Metadata["target_class"]);
        using var image = reference.Read($"{classifier}/image");
        using (var input = pipeline.Preprocess(image))
            Parity.AssertForwardClose(input, reference.Read($"{classifier}/classifier_input"), $"{classifier}/classifier_input", output);
        using (var logits = pipeline.Classify(image))
            Parity.AssertForwardClose(logits, reference.Read($"{classifier}/logits"), $"{classifier}/logits", output);

        using var result = pipeline.LossAndGradient(image, [TargetClass]);
        using var loss = tensor(result.Losses);
        Parity.AssertForwardClose(loss, reference.Read($"{classifier}/loss"), $"{classifier}/loss", output);
        Parity.AssertForwardClose(result.Logits, reference.Read($"{classifier}/logits"), $"{classifier}/logits (loss call)", output);
        Parity.AssertGradientClose(result.ImageGradient, reference.Read($"{classifier}/partial/grad_image"),
                                   $"{classifier}/partial/grad_image", output);
        Assert.False(image.requires_grad);
    }
}
