using DiscriminativeTokens.Classification.Preprocessing;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>Output sizes, crop offsets and preprocessor_config.json translation (exact comparisons).</summary>
public sealed class PreprocessingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dct-preprocessing-").FullName;

    [Theory]
    [InlineData(64, 64, 40, 40, 40)]
    [InlineData(50, 70, 40, 40, 56)]
    [InlineData(70, 50, 40, 56, 40)]
    [InlineData(333, 500, 256, 256, 384)]     // int(256 * 1.5015...) = 384
    [InlineData(75, 1, 24, 1799, 24)]         // kornia: int(24 / (1/75)) = int(1799.9999999999998), not 1800
    public void ShorterSideResizeTruncatesTheLongSideAsKornia(int height, int width, int size, int outHeight, int outWidth)
    {
        var resize = ResizeStep.ShorterSide(size, ResizeInterpolation.Bicubic, antialias: false);
        Assert.Equal((outHeight, outWidth), resize.OutputSize(height, width));
    }

    [Fact]
    public void ResizeToTheSameSizeReturnsTheInputValues()
    {
        using var image = rand(1, 3, 40, 52);
        using var same = ResizeStep.ShorterSide(40, ResizeInterpolation.Bicubic, antialias: false).Apply(image);
        Assert.Equal(0.0, Parity.MaxAbsError(same, image));
    }

    [Theory]
    [InlineData(CenterCropStyle.Torchvision, 2, 2)]     // round(1.5) = 2, round(2.5) = 2 (half to even)
    [InlineData(CenterCropStyle.Transformers, 1, 2)]    // floor
    public void OddMarginsStartWhereEachLibraryStarts(CenterCropStyle style, long rowStart, long columnStart)
    {
        using var scope = NewDisposeScope();
        var image = arange(3 * 7 * 9, float32).reshape(1, 3, 7, 9);   // margins 3 (rows) and 5 (columns) for a 4x4 crop
        var cropped = CenterCropStep.Create(4, 4, style).Apply(image);
        Assert.Equal(0.0, Parity.MaxAbsError(cropped, image.narrow(2, rowStart, 4).narrow(3, columnStart, 4)));
    }

    [Fact]
    public void KorniaCropAveragesNeighboursAtHalfPixelOffsetsAndSlicesOtherwise()
    {
        using var scope = NewDisposeScope();
        var image = rand(2, 3, 7, 10);
        // Rows: margin 3 → start 1.5; columns: margin 6 → start 3.
        var cropped = CenterCropStep.Create(4, 4, CenterCropStyle.Kornia).Apply(image);
        var expected = (image.narrow(2, 1, 4) + image.narrow(2, 2, 4)).narrow(3, 3, 4) / 2;
        Assert.True(Parity.MaxAbsError(cropped, expected) < 1e-6);
        var tooSmall = Assert.Throws<ArgumentException>(() => CenterCropStep.Create(8, 4, CenterCropStyle.Kornia).Apply(image));
        Assert.Contains("7x10", tooSmall.Message);
    }

    [Fact]
    public void ViTFeatureExtractorConfigsResizeExactlyWithAntialias()
    {
        // google/vit-*-224's preprocessor_config.json.
        var preprocessing = Read("""
            {"do_normalize": true, "do_resize": true, "feature_extractor_type": "ViTFeatureExtractor",
             "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2, "size": 224}
            """);
        Assert.Equal(ResizeStep.Exact(224, 224, ResizeInterpolation.Bilinear, antialias: true), preprocessing.Resize);
        Assert.Null(preprocessing.Crop);
        Assert.Equal(NormalizeStep.Half, preprocessing.Normalize);
        Assert.Equal((224, 224), preprocessing.FixedOutputSize);
    }

    [Fact]
    public void ImageProcessorConfigsWithShortestEdgeAndCropAreFollowed()
    {
        var preprocessing = Read("""
            {"image_processor_type": "ViTImageProcessor", "do_resize": true, "size": {"shortest_edge": 256},
             "resample": 3, "do_center_crop": true, "crop_size": {"height": 224, "width": 224}, "do_rescale": true,
             "rescale_factor": 0.00392156862745098, "do_normalize": true,
             "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
            """);
        Assert.Equal(ResizeStep.ShorterSide(256, ResizeInterpolation.Bicubic, antialias: true), preprocessing.Resize);
        Assert.Equal(CenterCropStep.Create(224, 224, CenterCropStyle.Transformers), preprocessing.Crop);
        Assert.Equal(NormalizeStep.ImageNet, preprocessing.Normalize);
        Assert.Equal((224, 224), preprocessing.OutputSize(300, 500));
    }

    [Theory]
    [InlineData("""{"resample": 1}""", "resample")]
    [InlineData("""{"image_processor_type": "ConvNextImageProcessor"}""", "image_processor_type")]
    [InlineData("""{"do_rescale": false}""", "do_rescale")]
    [InlineData("""{"rescale_factor": 1.0}""", "rescale_factor")]
    [InlineData("""{"size": {"longest_edge": 224}}""", "size")]
    [InlineData("""{"image_mean": [0.5, 0.5]}""", "image_mean")]
    [InlineData("""{"crop_pct": 0.875}""", "crop_pct")]
    public void UnsupportedPreprocessorFieldsAreNamed(string json, string field)
    {
        var e = Assert.Throws<InvalidDataException>(() => Read(json));
        Assert.Contains($"'{field}'", e.Message);
    }

    private ClassifierPreprocessing Read(string json)
    {
        string path = Path.Combine(_folder, "preprocessor_config.json");
        File.WriteAllText(path, json);
        return ClassifierPreprocessing.FromPreprocessorConfig(path);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }
}
