using DiscriminativeTokens.Imaging;
using SkiaSharp;

namespace DiscriminativeTokens.Tests.Cli;

public class PngWriterTests
{
    [Fact]
    public void WritesPlanarFloatRgbAsRoundedBytes()
    {
        // 2x3 image, planes R, G, B in C order; values chosen to check rounding and clamping.
        float[] r = [0f, 0.5f, 1f, 1.2f, -0.1f, 0.2f];
        float[] g = [1f, 0f, 0.25f, 0f, 0f, 0f];
        float[] b = [0.1f, 0.9f, 0f, 0f, 1f, 0.004f];
        float[] chw = [.. r, .. g, .. b];
        string path = Path.Combine(Path.GetTempPath(), $"png-{Guid.NewGuid():N}.png");
        try
        {
            PngWriter.Write(path, chw, height: 2, width: 3);
            using var decoded = SKBitmap.Decode(path);
            Assert.Equal(3, decoded.Width);
            Assert.Equal(2, decoded.Height);
            Assert.Equal(new SKColor(0, 255, 26), decoded.GetPixel(0, 0));
            Assert.Equal(new SKColor(128, 0, 230), decoded.GetPixel(1, 0));
            Assert.Equal(new SKColor(255, 64, 0), decoded.GetPixel(2, 0));
            Assert.Equal(new SKColor(255, 0, 0), decoded.GetPixel(0, 1));
            Assert.Equal(new SKColor(0, 0, 255), decoded.GetPixel(1, 1));
            Assert.Equal(new SKColor(51, 0, 1), decoded.GetPixel(2, 1));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RefusesAShapeThatDoesNotMatchTheValues()
    {
        var error = Assert.Throws<ArgumentException>(() => PngWriter.Write("x.png", new float[10], 2, 2));
        Assert.Contains("12 values", error.Message);
    }
}
