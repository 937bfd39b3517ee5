using DiscriminativeTokens.Classification.Preprocessing;
using DiscriminativeTokens.Testing;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>Paths and settings of the sd-tiny classifier fixture.</summary>
internal static class Fixture
{
    public static string VitFolder => Path.Combine(RepositoryPaths.SdTiny, "vit-tiny");
    public static string VitReference => RepositoryPaths.SdTinyReference("vit.safetensors");
    public static string DctReference => RepositoryPaths.SdTinyReference("dct.safetensors");

    /// <summary>
    /// The reference method's ImageNet preprocessing scaled to the tiny model, as the fixture computed it: kornia
    /// bicubic resize of the shorter side to 40, kornia center crop 32, Normalize(0.5, 0.5).
    /// </summary>
    public static ClassifierPreprocessing TinyReferencePreprocessing { get; } = new(
        ResizeStep.ShorterSide(40, ResizeInterpolation.Bicubic, antialias: false),
        CenterCropStep.Create(32, 32, CenterCropStyle.Kornia),
        NormalizeStep.Half);
}
