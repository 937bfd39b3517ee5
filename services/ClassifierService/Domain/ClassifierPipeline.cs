using DiscriminativeTokens.Torch;
using DiscriminativeTokens.Classification.Models;
using DiscriminativeTokens.Classification.Preprocessing;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification;

/// <summary>
/// A classifier as the service offers it: RGB float images [N, 3, H, W] in [0, 1] of any size go through the
/// differentiable preprocessing and the frozen network. Gradients flow only to the images. Owns (and disposes) the
/// network.
/// </summary>
public sealed class ClassifierPipeline : IDisposable
{
    public ImageClassifier Model { get; }
    public ClassifierPreprocessing Preprocessing { get; }
    public ClassifierLimits Limits { get; }
    public ClassifierInfo Info { get; }

    public ClassifierPipeline(ImageClassifier model, ClassifierPreprocessing preprocessing, string modelId,
                              ClassifierLimits? limits = null)
    {
        Limits = limits ?? ClassifierLimits.Default;
        if (Limits.MaxBatchSize < 1 || Limits.MaxImageSide < 1 || !(Limits.RangeTolerance >= 0))
            throw new ArgumentException($"Limits must be positive (and the tolerance non-negative); got {Limits}.", nameof(limits));
        if (model.RequiredInputSize is { } required && preprocessing.FixedOutputSize is { } produced && produced != required)
            throw new ArgumentException(
                $"The preprocessing ({preprocessing.Describe()}) produces {produced.Height}x{produced.Width} images, but " +
                $"{model.Architecture} needs exactly {required.Height}x{required.Width}.", nameof(preprocessing));
        if (preprocessing.MinimumInputSide > Limits.MaxImageSide)
            throw new ArgumentException($"The preprocessing needs images of at least {preprocessing.MinimumInputSide} pixels a " +
                                        $"side, more than the limit of {Limits.MaxImageSide}.", nameof(limits));
        model.Freeze();
        Model = model;
        Preprocessing = preprocessing;
        Info = new ClassifierInfo(modelId, model.Architecture, model.Labels, preprocessing.Describe(),
                                  preprocessing.MinimumInputSide, Limits.MaxImageSide, Limits.MaxBatchSize);
    }

    /// <summary>The model-ready tensor for validated images, on the network's device (differentiable).</summary>
    public Tensor Preprocess(Tensor images)
    {
        ValidateImages(images);
        using var scope = NewDisposeScope();
        return PreprocessUnchecked(images).MoveToOuterDisposeScope();
    }

    /// <summary>Logits [N, num_classes], float32 on the images' device, computed without autograd.</summary>
    public Tensor Classify(Tensor images)
    {
        ValidateImages(images);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = Model.forward(PreprocessUnchecked(images));
        return logits.to(images.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-image cross-entropy against <paramref name="targetClassIds"/> and d(sum of losses)/d(images), with logits,
    /// argmax predictions and target probabilities.
    /// </summary>
    public ClassifierLossResult LossAndGradient(Tensor images, IReadOnlyList<int> targetClassIds)
    {
        ValidateImages(images);
        ValidateTargets(targetClassIds, images.shape[0]);
        using var scope = NewDisposeScope();
        using var gradMode = enable_grad();
        // Where this machine's oneDNN computes convolution gradients wrongly, use LibTorch's own kernels for the
        // whole differentiated pass (the kernel choice is made in the forward).
        using var reliable = OneDnnConvolutionBackward.ReliableGradients();
        // A fresh leaf: the caller's tensor is never marked as requiring grad, and the gradient lands on its device.
        var leaf = images.detach().to(ScalarType.Float32).requires_grad_(true);
        var logits = Model.forward(PreprocessUnchecked(leaf));
        var logProbabilities = nn.functional.log_softmax(logits, 1);
        var targets = tensor(targetClassIds.Select(id => (long)id).ToArray(), ScalarType.Int64, logits.device);
        var targetLogProbabilities = logProbabilities.gather(1, targets.unsqueeze(1)).squeeze(1);
        var losses = targetLogProbabilities.neg();
        var gradient = torch.autograd.grad([losses.sum()], [leaf])[0];

        using var noGrad = no_grad();
        float[] lossValues = losses.detach().cpu().data<float>().ToArray();
        float[] probabilities = targetLogProbabilities.detach().exp().cpu().data<float>().ToArray();
        int[] predicted = logits.detach().argmax(1).cpu().data<long>().Select(id => (int)id).ToArray();
        var logitsOut = logits.detach().to(images.device).MoveToOuterDisposeScope();
        return new ClassifierLossResult(lossValues, logitsOut, predicted, probabilities, gradient.MoveToOuterDisposeScope());
    }

    /// <summary>The <paramref name="k"/> most probable classes of each row of <paramref name="logits"/>, best first.</summary>
    public IReadOnlyList<IReadOnlyList<ClassScore>> TopClasses(Tensor logits, int k)
    {
        if (k < 1) throw new ClassifierInputException($"top_k must be at least 1; got {k}.");
        k = Math.Min(k, Info.NumClasses);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var cpuLogits = logits.detach().cpu().to(ScalarType.Float32);
        var (values, indices) = nn.functional.softmax(cpuLogits, 1).topk(k, 1);
        float[] probabilities = values.contiguous().data<float>().ToArray();
        long[] ids = indices.contiguous().data<long>().ToArray();
        float[] allLogits = cpuLogits.contiguous().data<float>().ToArray();
        int classes = (int)cpuLogits.shape[1];
        var result = new List<IReadOnlyList<ClassScore>>();
        for (int row = 0; row < cpuLogits.shape[0]; row++)
            result.Add(Enumerable.Range(0, k).Select(j =>
            {
                int id = (int)ids[row * k + j];
                return new ClassScore(id, Info.Labels[id], probabilities[row * k + j], allLogits[row * classes + id]);
            }).ToList());
        return result;
    }

    private Tensor PreprocessUnchecked(Tensor images)
    {
        using var onDevice = images.to(ScalarType.Float32, Model.WeightsDevice);
        return Preprocessing.Apply(onDevice);
    }

    private void ValidateImages(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        string shape = $"[{string.Join(", ", images.shape)}]";
        if (!is_floating_point(images))
            throw new ClassifierInputException($"Images must be floating point (float32 RGB in [0, 1]); got {images.dtype}.");
        if (images.ndim != 4 || images.shape[1] != ClassifierInfo.Channels)
            throw new ClassifierInputException($"Images must have shape [N, 3, H, W] (RGB); got {shape}.");
        long count = images.shape[0], height = images.shape[2], width = images.shape[3];
        if (count < 1)
            throw new ClassifierInputException("The batch holds no images.");
        if (count > Limits.MaxBatchSize)
            throw new ClassifierInputException($"The batch holds {count} images; at most {Limits.MaxBatchSize} are accepted per call.");
        if (Math.Min(height, width) < Info.MinImageSide || Math.Max(height, width) > Limits.MaxImageSide)
            throw new ClassifierInputException($"Images of {height}x{width} are outside the accepted sides " +
                                               $"{Info.MinImageSide}..{Limits.MaxImageSide} pixels.");
        (int Height, int Width) produced;
        try
        {
            produced = Preprocessing.OutputSize((int)height, (int)width);
        }
        catch (ArgumentException e)
        {
            throw new ClassifierInputException(e.Message);
        }
        if (Model.RequiredInputSize is { } required && produced != required)
            throw new ClassifierInputException($"Images of {height}x{width} become {produced.Height}x{produced.Width} after " +
                                               $"preprocessing ({Info.Preprocessing}), but the model needs " +
                                               $"{required.Height}x{required.Width}.");

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = images.detach();
        long nonFinite = values.isfinite().logical_not().sum().item<long>();
        if (nonFinite > 0)
            throw new ClassifierInputException($"Images contain {nonFinite} NaN or infinite values.");
        double min = values.min().to(ScalarType.Float64).item<double>();
        double max = values.max().to(ScalarType.Float64).item<double>();
        double tolerance = Limits.RangeTolerance;
        if (min < ClassifierInfo.MinValue - tolerance || max > ClassifierInfo.MaxValue + tolerance)
            throw new ClassifierInputException($"Image values must lie in [0, 1] (tolerance {tolerance:G3}); got values from " +
                                               $"{min:G6} to {max:G6}. Send RGB scaled to [0, 1], not 0..255 or [-1, 1].");
    }

    private void ValidateTargets(IReadOnlyList<int> targetClassIds, long count)
    {
        ArgumentNullException.ThrowIfNull(targetClassIds);
        if (targetClassIds.Count != count)
            throw new ClassifierInputException($"{targetClassIds.Count} target class ids were given for {count} images; " +
                                               "give one per image.");
        for (int i = 0; i < targetClassIds.Count; i++)
            if (targetClassIds[i] < 0 || targetClassIds[i] >= Info.NumClasses)
                throw new ClassifierInputException($"Target class id {targetClassIds[i]} (image {i}) is out of range: this " +
                                                   $"classifier has classes 0..{Info.NumClasses - 1}.");
    }

    public void Dispose() => Model.Dispose();
}
