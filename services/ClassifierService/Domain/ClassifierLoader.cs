using DiscriminativeTokens.Torch;
using DiscriminativeTokens.Classification.Models;
using DiscriminativeTokens.Classification.Models.ResNet;
using DiscriminativeTokens.Classification.Models.Vit;
using DiscriminativeTokens.Classification.Preprocessing;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification;

/// <summary>Loads a classifier a user already has into a <see cref="ClassifierPipeline"/> with sensible preprocessing.</summary>
public static class ClassifierLoader
{
    /// <summary>
    /// A transformers ViTForImageClassification folder. Without explicit <paramref name="preprocessing"/> the reference
    /// method's is used: for a CLS-token head (ImageNet ViT) bicubic shorter side 256 / kornia crop 224 / mean = std =
    /// 0.5, for a mean-pooled head (ViT-MAE fine-tunes) shorter side 224 / crop 224 / ImageNet mean and std — scaled to
    /// the model's image_size. Pass <see cref="ClassifierPreprocessing.FromPreprocessorConfig"/> to follow the
    /// folder's preprocessor_config.json instead.
    /// </summary>
    public static ClassifierPipeline LoadVit(string folder, Device device, VitPooling? pooling = null,
                                             ClassifierPreprocessing? preprocessing = null, ClassifierLimits? limits = null,
                                             string? modelId = null)
    {
        // Same convolution kernels for every later pass (see LibTorchProcess).
        LibTorchProcess.PrepareForModels();
        var model = VitForImageClassification.Load(folder, device, pooling);
        try
        {
            preprocessing ??= ReferencePreprocessing(model);
            return new ClassifierPipeline(model, preprocessing, modelId ?? ModelIdOf(folder), limits);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A torchvision ResNet state dict in safetensors plus its label file. Without explicit
    /// <paramref name="preprocessing"/> torchvision's ImageNet transform is used (bilinear antialiased shorter side 256,
    /// crop 224, ImageNet mean and std).
    /// </summary>
    public static ClassifierPipeline LoadResNet(string weightsPath, string labelsPath, Device device, int? depth = null,
                                                ClassifierPreprocessing? preprocessing = null, ClassifierLimits? limits = null,
                                                string? modelId = null)
    {
        LibTorchProcess.PrepareForModels();
        var model = ResNetClassifier.Load(weightsPath, labelsPath, device, depth);
        try
        {
            return new ClassifierPipeline(model, preprocessing ?? ClassifierPreprocessing.TorchvisionImageNet(),
                                          modelId ?? Path.GetFileNameWithoutExtension(weightsPath), limits);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static ClassifierPreprocessing ReferencePreprocessing(VitForImageClassification model)
    {
        var config = model.Config;
        if (config.ImageHeight != config.ImageWidth)
            throw new ArgumentException($"The reference preprocessing is square, but this ViT takes {config.ImageHeight}x" +
                                        $"{config.ImageWidth} images; give the preprocessing explicitly.");
        return model.Pooling == VitPooling.ClsToken
            ? ClassifierPreprocessing.ReferenceImageNet(config.ImageHeight)
            : ClassifierPreprocessing.ReferenceFineGrained(config.ImageHeight);
    }

    /// <summary>"org/name" for a Hugging Face cache snapshot (models--org--name/snapshots/rev), else the folder name.</summary>
    private static string ModelIdOf(string folder)
    {
        var directory = new DirectoryInfo(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        if (directory.Parent is { Name: "snapshots", Parent: { } repository } &&
            repository.Name.StartsWith("models--", StringComparison.Ordinal))
            return repository.Name["models--".Length..].Replace("--", "/", StringComparison.Ordinal);
        return directory.Name;
    }
}
