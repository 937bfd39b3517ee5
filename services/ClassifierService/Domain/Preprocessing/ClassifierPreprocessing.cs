using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Preprocessing;

/// <summary>
/// What a classifier service does to an RGB image in [0, 1] before the network: an optional resize, an optional
/// center crop and an optional normalization, all differentiable so gradients reach the caller's image.
/// </summary>
public sealed record ClassifierPreprocessing(ResizeStep? Resize, CenterCropStep? Crop, NormalizeStep? Normalize)
{
    /// <summary>
    /// The reference method's ImageNet-ViT preprocessing: kornia bicubic resize of the shorter side to 256 (no
    /// antialias), kornia center crop 224, mean = std = 0.5. For another crop size the resize keeps the 256/224 ratio
    /// (rounded).
    /// </summary>
    public static ClassifierPreprocessing ReferenceImageNet(int cropSize = 224) => new(
        ResizeStep.ShorterSide((int)Math.Round(cropSize * 256.0 / 224.0), ResizeInterpolation.Bicubic, antialias: false),
        CenterCropStep.Create(cropSize, cropSize, CenterCropStyle.Kornia),
        NormalizeStep.Half);

    /// <summary>
    /// The reference method's preprocessing for its CUB-200 / iNaturalist ViT-MAE classifiers: kornia bicubic resize of
    /// the shorter side to 224, kornia center crop 224, ImageNet mean and std.
    /// </summary>
    public static ClassifierPreprocessing ReferenceFineGrained(int cropSize = 224) => new(
        ResizeStep.ShorterSide(cropSize, ResizeInterpolation.Bicubic, antialias: false),
        CenterCropStep.Create(cropSize, cropSize, CenterCropStyle.Kornia),
        NormalizeStep.ImageNet);

    /// <summary>
    /// torchvision's ImageNet classification transform for its ResNet weights: bilinear antialiased resize of the
    /// shorter side to 256, center crop 224 (torchvision offsets), ImageNet mean and std.
    /// </summary>
    public static ClassifierPreprocessing TorchvisionImageNet(int resizeSize = 256, int cropSize = 224) => new(
        ResizeStep.ShorterSide(resizeSize, ResizeInterpolation.Bilinear, antialias: true),
        CenterCropStep.Create(cropSize, cropSize, CenterCropStyle.Torchvision),
        NormalizeStep.ImageNet);

    /// <summary>Follows a transformers <c>preprocessor_config.json</c> (see <see cref="PreprocessorConfig"/>).</summary>
    public static ClassifierPreprocessing FromPreprocessorConfig(string path) => PreprocessorConfig.Read(path);

    /// <summary>
    /// The (height, width) the steps produce from an input of the given size, or an explanation of why that input
    /// cannot be processed (an image smaller than the crop).
    /// </summary>
    public (int Height, int Width) OutputSize(int height, int width)
    {
        var (h, w) = Resize?.OutputSize(height, width) ?? (height, width);
        if (Crop is null) return (h, w);
        if (h < Crop.Height || w < Crop.Width)
            throw new ArgumentException($"{DescribeResizeOutcome(height, width, h, w)} is smaller than the " +
                                        $"{Crop.Height}x{Crop.Width} center crop.");
        return (Crop.Height, Crop.Width);
    }

    /// <summary>The output size when it does not depend on the input (a crop, or an exact resize), else null.</summary>
    public (int Height, int Width)? FixedOutputSize =>
        Crop is not null ? (Crop.Height, Crop.Width)
        : Resize is { Target: ResizeTarget.Exact } exact ? (exact.Height, exact.Width)
        : null;

    /// <summary>Smallest input side that every step accepts: without a resize the image must hold the crop.</summary>
    public int MinimumInputSide => Resize is null && Crop is not null ? Math.Max(Crop.Height, Crop.Width) : 1;

    /// <summary>Applies the steps to images [N, 3, H, W] (differentiably); always returns a new tensor handle.</summary>
    public Tensor Apply(Tensor images)
    {
        using var scope = NewDisposeScope();
        var current = images.alias();
        if (Resize is not null) current = Resize.Apply(current);
        if (Crop is not null) current = Crop.Apply(current);
        if (Normalize is not null) current = Normalize.Apply(current);
        return current.MoveToOuterDisposeScope();
    }

    /// <summary>E.g. "resize shorter side to 256 (bicubic, no antialias), center crop 224 (...), normalize mean 0.5 std 0.5".</summary>
    public string Describe()
    {
        var parts = new[] { Resize?.Describe(), Crop?.Describe(), Normalize?.Describe() }.OfType<string>().ToList();
        return parts.Count == 0 ? "none (the model reads the image as sent)" : string.Join(", ", parts);
    }

    private string DescribeResizeOutcome(int height, int width, int h, int w) =>
        Resize is null ? $"An image of {height}x{width}" : $"An image of {height}x{width}, resized to {h}x{w},";
}
