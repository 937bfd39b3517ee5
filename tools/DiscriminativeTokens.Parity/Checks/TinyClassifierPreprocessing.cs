using DiscriminativeTokens.Classification.Preprocessing;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>
/// The reference method's ImageNet classifier transform scaled to the fixture's tiny classifiers (kornia bicubic resize
/// of the shorter side, kornia center crop, Normalize(0.5, 0.5)). The sizes are read from the shapes of
/// reference/vit.safetensors' <c>resized40</c> and <c>cropped32</c> (40 and 32 in sd-tiny), so a fixture made at other
/// sizes is compared at its own.
/// </summary>
internal static class TinyClassifierPreprocessing
{
    public static ClassifierPreprocessing Read(ParityFixture fixture)
    {
        var vit = fixture.Reference("vit.safetensors");
        long[] resized, cropped;
        using (var tensor = vit.Read("resized40")) resized = tensor.shape;
        using (var tensor = vit.Read("cropped32")) cropped = tensor.shape;
        if (resized.Length != 4 || cropped.Length != 4)
            throw new ParityLoadException($"{vit.Path}: resized40 and cropped32 must be images [N, 3, H, W].");
        return new ClassifierPreprocessing(
            ResizeStep.ShorterSide((int)Math.Min(resized[2], resized[3]), ResizeInterpolation.Bicubic, antialias: false),
            CenterCropStep.Create((int)cropped[2], (int)cropped[3], CenterCropStyle.Kornia),
            NormalizeStep.Half);
    }
}
