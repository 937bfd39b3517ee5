using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>
/// The classifier half of the reference DCT training step (reference/dct.safetensors), through the service's
/// <see cref="ClassifierPipeline"/>: the decoded image in [0, 1] → preprocessing → classifier → cross-entropy against
/// the target class, and the gradient back to the image.
/// </summary>
public sealed class DctClassifierCheck : ParityCheck
{
    public override string Component => "dct_classifier";

    public override string Description =>
        "the classifier half of one reference training step (run.py) for TinyConvClassifier (conv/*) and vit-tiny " +
        "(vit/*): classifier input, logits, cross-entropy loss against the target class, dLoss/dClassifierInput and " +
        "dLoss/dImage (partial/*)";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("dct.safetensors");
        int target = int.TryParse(file.Metadata("target_class"), out int parsed)
            ? parsed
            : throw new ParityLoadException($"{file.Path}: metadata target_class is not a class id.");
        var preprocessing = TinyClassifierPreprocessing.Read(fixture);
        var classifiers = new (string Prefix, Func<ImageClassifier> Load)[]
        {
            ("conv", () => TinyConvClassifier.Load(file, fixture.Device)),
            ("vit", fixture.LoadVitClassifier),
        };
        foreach (var (prefix, load) in classifiers)
        {
            using var pipeline = new ClassifierPipeline(load(), preprocessing, prefix);
            Tensor Image() => file.Read($"{prefix}/image");

            yield return Compare(file, $"{prefix}/classifier_input", Tolerance.Forward, () => pipeline.Preprocess(Image()));
            yield return Compare(file, $"{prefix}/logits", Tolerance.Forward, () => pipeline.Classify(Image()));
            yield return Compare(file, $"{prefix}/loss", Tolerance.Forward,
                                 () => tensor(pipeline.LossAndGradient(Image(), [target]).Losses));
            yield return Compare(file, $"{prefix}/partial/grad_classifier_input", Tolerance.Gradient, () =>
            {
                using var gradMode = enable_grad();
                var input = file.Read($"{prefix}/classifier_input").to(pipeline.Model.WeightsDevice).requires_grad_(true);
                var logits = pipeline.Model.forward(input);
                var loss = nn.functional.cross_entropy(logits, tensor(new long[] { target }, device: logits.device));
                return torch.autograd.grad([loss], [input])[0];
            });
            // The tensors the pipeline returns join the comparison's dispose scope.
            yield return Compare(file, $"{prefix}/partial/grad_image", Tolerance.Gradient,
                                 () => pipeline.LossAndGradient(Image(), [target]).ImageGradient);
        }
    }
}
