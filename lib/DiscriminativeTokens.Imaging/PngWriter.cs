using SkiaSharp;

namespace DiscriminativeTokens.Imaging;

/// <summary>Writes an RGB float image (C order [3, H, W], values in [0, 1]) as an 8-bit PNG.</summary>
public static class PngWriter
{
    public static void Write(string path, ReadOnlySpan<float> chw, int height, int width)
    {
        if (chw.Length != 3 * height * width)
            throw new ArgumentException($"Expected {3 * height * width} values for a 3x{height}x{width} image, got {chw.Length}.");
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        int plane = height * width;
        for (int i = 0; i < plane; i++)
        {
            pixels[4 * i] = ToByte(chw[i]);
            pixels[4 * i + 1] = ToByte(chw[plane + i]);
            pixels[4 * i + 2] = ToByte(chw[2 * plane + i]);
            pixels[4 * i + 3] = 255;
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    // Same rounding as diffusers' numpy_to_pil: (x * 255).round().
    private static byte ToByte(float value) => (byte)Math.Clamp(MathF.Round(value * 255f), 0f, 255f);
}
