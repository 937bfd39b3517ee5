using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification;

/// <summary>
/// Cross-entropy of each image against its target and the gradient of their sum with respect to the images (so each
/// image's gradient is that of its own loss). Tensors are float32 on the device the images came from; dispose the
/// result to free them.
/// </summary>
public sealed class ClassifierLossResult(
    float[] losses, Tensor logits, int[] predictedClassIds, float[] targetProbabilities, Tensor imageGradient) : IDisposable
{
    /// <summary>Natural-log cross-entropy per image, length N.</summary>
    public float[] Losses { get; } = losses;

    /// <summary>Raw logits [N, num_classes].</summary>
    public Tensor Logits { get; } = logits;

    /// <summary>Argmax class id per image.</summary>
    public int[] PredictedClassIds { get; } = predictedClassIds;

    /// <summary>Softmax probability of each image's target class.</summary>
    public float[] TargetProbabilities { get; } = targetProbabilities;

    /// <summary>d(sum of losses)/d(images), the input's shape [N, 3, H, W].</summary>
    public Tensor ImageGradient { get; } = imageGradient;

    public void Dispose()
    {
        Logits.Dispose();
        ImageGradient.Dispose();
    }
}
