using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Preprocessing;
using DiscriminativeTokens.Testing;
using TorchSharp;

namespace DiscriminativeTokens.Tests.Services.Classifier;

/// <summary>The sd-tiny fixture's vit-tiny (32x32 input, 10 classes) as the classifier service and in-process.</summary>
internal static class TinyClassifier
{
    public static string Folder => Path.Combine(RepositoryPaths.SdTiny, "vit-tiny");

    /// <summary>The service arguments that serve vit-tiny with its default preprocessing.</summary>
    public static string[] ServiceArguments =>
        ["--Classifier:Kind", "vit", "--Classifier:Path", Folder, "--Classifier:Device", "cpu"];

    /// <summary>
    /// The fixture's preprocessing (kornia bicubic shorter side 40, kornia crop 32, mean = std = 0.5), which the tests'
    /// service gets through the preprocessing override Classifier:Preprocessing:ResizeShorterSide 40.
    /// </summary>
    public static ClassifierPreprocessing Preprocessing { get; } = new(
        ResizeStep.ShorterSide(40, ResizeInterpolation.Bicubic, antialias: false),
        CenterCropStep.Create(32, 32, CenterCropStyle.Kornia),
        NormalizeStep.Half);

    /// <summary>vit-tiny built independently of the service's configuration code, with the same settings.</summary>
    public static ClassifierPipeline LoadInProcess(int maxBatchSize) =>
        ClassifierLoader.LoadVit(Folder, torch.CPU, preprocessing: Preprocessing, limits: new ClassifierLimits(maxBatchSize));
}
