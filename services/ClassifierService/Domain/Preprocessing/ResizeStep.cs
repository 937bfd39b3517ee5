using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Preprocessing;

/// <summary>
/// A differentiable resize with torch interpolate (align_corners=False). Antialias off reproduces kornia 0.6.11's
/// <c>resize(..., antialias=False)</c> and plain <c>F.interpolate</c>; on, it is torch's antialiased resize (the
/// torchvision / Pillow-like filter), not kornia's Gaussian pre-blur.
/// </summary>
public sealed record ResizeStep(ResizeTarget Target, int Height, int Width, ResizeInterpolation Interpolation, bool Antialias)
{
    /// <summary>Shorter side to <paramref name="size"/>, keeping the aspect ratio.</summary>
    public static ResizeStep ShorterSide(int size, ResizeInterpolation interpolation, bool antialias) =>
        Validated(new ResizeStep(ResizeTarget.ShorterSide, size, size, interpolation, antialias));

    public static ResizeStep Exact(int height, int width, ResizeInterpolation interpolation, bool antialias) =>
        Validated(new ResizeStep(ResizeTarget.Exact, height, width, interpolation, antialias));

    private static ResizeStep Validated(ResizeStep step) =>
        step.Height > 0 && step.Width > 0
            ? step
            : throw new ArgumentOutOfRangeException(nameof(step), $"Resize sizes must be positive; got {step.Height}x{step.Width}.");

    /// <summary>The output (height, width) for an input of the given size.</summary>
    public (int Height, int Width) OutputSize(int height, int width)
    {
        if (Target == ResizeTarget.Exact) return (Height, Width);
        // kornia: aspect = w / h; the shorter side gets the size, the other int(size * aspect) or int(size / aspect),
        // evaluated in double precision as Python does.
        double aspect = (double)width / height;
        return aspect >= 1.0
            ? (Height, (int)(Height * aspect))
            : ((int)(Height / aspect), Height);
    }

    /// <summary>Resizes images [N, C, H, W]; an input already of the output size is returned as it is (kornia does so).</summary>
    public Tensor Apply(Tensor images)
    {
        var (height, width) = OutputSize((int)images.shape[2], (int)images.shape[3]);
        if (height == images.shape[2] && width == images.shape[3])
            return images.alias();
        var mode = Interpolation == ResizeInterpolation.Bicubic ? InterpolationMode.Bicubic : InterpolationMode.Bilinear;
        return nn.functional.interpolate(images, [height, width], mode: mode, align_corners: false, antialias: Antialias);
    }

    public string Describe()
    {
        string how = $"({Interpolation.ToString().ToLowerInvariant()}, {(Antialias ? "antialias" : "no antialias")})";
        return Target == ResizeTarget.ShorterSide
            ? $"resize shorter side to {Height} {how}"
            : $"resize to {Height}x{Width} {how}";
    }
}
