using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Preprocessing;

/// <summary>A differentiable center crop to (Height, Width); the input must be at least that large.</summary>
public sealed record CenterCropStep(int Height, int Width, CenterCropStyle Style)
{
    public static CenterCropStep Create(int height, int width, CenterCropStyle style) =>
        height > 0 && width > 0
            ? new CenterCropStep(height, width, style)
            : throw new ArgumentOutOfRangeException(nameof(height), $"Crop sizes must be positive; got {height}x{width}.");

    /// <summary>Crops images [N, C, H, W] with H ≥ Height and W ≥ Width.</summary>
    public Tensor Apply(Tensor images)
    {
        long inHeight = images.shape[2], inWidth = images.shape[3];
        if (inHeight < Height || inWidth < Width)
            throw new ArgumentException($"Cannot center-crop {Height}x{Width} from an image of {inHeight}x{inWidth}.");
        using var rows = CropAxis(images, 2, inHeight, Height);
        return CropAxis(rows, 3, inWidth, Width);
    }

    private Tensor CropAxis(Tensor images, int dim, long size, int crop)
    {
        long excess = size - crop;
        if (excess % 2 == 0)
            return images.narrow(dim, excess / 2, crop);
        return Style switch
        {
            // Bilinear sampling at start + 0.5 weighs the two neighbouring pixels equally.
            CenterCropStyle.Kornia => HalfPixelAverage(images, dim, excess / 2, crop),
            CenterCropStyle.Torchvision => images.narrow(dim, (long)Math.Round(excess / 2.0, MidpointRounding.ToEven), crop),
            CenterCropStyle.Transformers => images.narrow(dim, excess / 2, crop),
            _ => throw new ArgumentOutOfRangeException(nameof(Style), Style, null),
        };
    }

    private static Tensor HalfPixelAverage(Tensor images, int dim, long start, int crop)
    {
        using var first = images.narrow(dim, start, crop);
        using var second = images.narrow(dim, start + 1, crop);
        var sum = first.Plus(second);
        return sum.TimesInPlace(0.5);
    }

    public string Describe() =>
        $"center crop {(Height == Width ? $"{Height}" : $"{Height}x{Width}")} " + Style switch
        {
            CenterCropStyle.Kornia => "(kornia: half-pixel offsets interpolated bilinearly)",
            CenterCropStyle.Torchvision => "(torchvision: offsets rounded half to even)",
            _ => "(transformers: offsets rounded down)",
        };
}
