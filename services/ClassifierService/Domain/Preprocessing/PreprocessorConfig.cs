using DiscriminativeTokens.Torch;
using System.Text.Json;
using DiscriminativeTokens.Classification.Models;

namespace DiscriminativeTokens.Classification.Preprocessing;

/// <summary>
/// Translates a transformers ViT <c>preprocessor_config.json</c> (ViTImageProcessor / ViTFeatureExtractor) into the
/// equivalent differentiable steps. Absent fields take ViTImageProcessor's defaults (resize to 224×224 bilinear,
/// rescale by 1/255, normalize with mean = std = 0.5). Pillow resizes with a filter that widens when shrinking, so the
/// resize is antialiased; a center crop, when configured, starts at the rounded-down offset as transformers' does.
/// The images this project sends are already in [0, 1], which is what the 1/255 rescale produces.
/// </summary>
public static class PreprocessorConfig
{
    private static readonly string[] SupportedTypes = ["ViTImageProcessor", "ViTFeatureExtractor"];

    public static ClassifierPreprocessing Read(string path)
    {
        var json = ConfigJson.Read(path);
        foreach (string field in new[] { "image_processor_type", "feature_extractor_type" })
        {
            string type = json.String(field, SupportedTypes[0]);
            if (!SupportedTypes.Contains(type))
                throw json.Invalid(field, json.Raw(field), "only ViT image processors are understood; give the " +
                                                           "preprocessing explicitly instead");
        }
        if (!json.IsAbsent("crop_pct"))
            throw json.Invalid("crop_pct", json.Raw("crop_pct"), "crop percentages are not implemented");

        if (json.Bool("do_rescale", true))
        {
            double factor = json.Double("rescale_factor", 1.0 / 255);
            if (Math.Abs(factor * 255 - 1) > 1e-6)
                throw json.Invalid("rescale_factor", json.Raw("rescale_factor"), "expected 1/255 (images arrive in [0, 1])");
        }
        else
        {
            throw json.Invalid("do_rescale", json.Raw("do_rescale"),
                               "the model would read 0..255 pixel values, but images arrive in [0, 1]");
        }

        ResizeStep? resize = json.Bool("do_resize", true) ? ReadResize(json) : null;
        CenterCropStep? crop = json.Bool("do_center_crop", false) ? ReadCrop(json) : null;
        NormalizeStep? normalize = json.Bool("do_normalize", true)
            ? new NormalizeStep(Channels(json, "image_mean"), Channels(json, "image_std"))
            : null;
        return new ClassifierPreprocessing(resize, crop, normalize);
    }

    private static ResizeStep ReadResize(ConfigJson json)
    {
        int resample = json.Int("resample", 2);
        var interpolation = resample switch
        {
            2 => ResizeInterpolation.Bilinear,
            3 => ResizeInterpolation.Bicubic,
            _ => throw json.Invalid("resample", json.Raw("resample"), "expected 2 (bilinear) or 3 (bicubic)"),
        };
        if (!json.IsObject("size"))
        {
            var (height, width) = json.IntPair("size", 224);
            return ResizeStep.Exact(height, width, interpolation, antialias: true);
        }
        var size = json.Object("size")!.Value;
        var fields = size.EnumerateObject().Where(f => f.Value.ValueKind != JsonValueKind.Null)
                         .ToDictionary(f => f.Name, f => f.Value);
        if (fields.Count == 2 && fields.TryGetValue("height", out var h) && fields.TryGetValue("width", out var w))
            return ResizeStep.Exact(json.AsInt("size", h), json.AsInt("size", w), interpolation, antialias: true);
        if (fields.Count == 1 && fields.TryGetValue("shortest_edge", out var edge))
            return ResizeStep.ShorterSide(json.AsInt("size", edge), interpolation, antialias: true);
        throw json.Invalid("size", json.Raw("size"), "expected {\"height\", \"width\"}, {\"shortest_edge\"} or an integer");
    }

    private static CenterCropStep ReadCrop(ConfigJson json)
    {
        if (json.IsObject("crop_size"))
        {
            var size = json.Object("crop_size")!.Value;
            if (size.TryGetProperty("height", out var h) && size.TryGetProperty("width", out var w))
                return CenterCropStep.Create(json.AsInt("crop_size", h), json.AsInt("crop_size", w), CenterCropStyle.Transformers);
            throw json.Invalid("crop_size", json.Raw("crop_size"), "expected {\"height\", \"width\"} or an integer");
        }
        var (height, width) = json.IntPair("crop_size", 224);
        return CenterCropStep.Create(height, width, CenterCropStyle.Transformers);
    }

    private static double[] Channels(ConfigJson json, string name)
    {
        double[] values = json.DoubleArray(name, [0.5]);
        return values.Length switch
        {
            1 => [values[0], values[0], values[0]],
            3 => values,
            _ => throw json.Invalid(name, json.Raw(name), "expected one value or three (RGB)"),
        };
    }
}
