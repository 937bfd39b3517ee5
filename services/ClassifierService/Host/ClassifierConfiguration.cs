using System.Globalization;
using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Models.Vit;
using DiscriminativeTokens.Classification.Preprocessing;
using DiscriminativeTokens.Torch;
using Microsoft.Extensions.Options;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>Turns <see cref="ClassifierOptions"/> into a loaded <see cref="ClassifierPipeline"/>.</summary>
public static class ClassifierConfiguration
{
    private const string P = ClassifierOptions.Section + ":";
    private const string Pre = P + "Preprocessing:";
    private static readonly string[] Presets = ["default", "imagenet", "finegrained", "torchvision", "preprocessor-config", "none"];
    private static readonly int[] Depths = [18, 34, 50, 101, 152];

    /// <summary>Everything wrong with the configuration, each saying what to set; empty when it can be loaded.</summary>
    public static IReadOnlyList<string> Problems(ClassifierOptions o)
    {
        var problems = new List<string>();
        switch (Normalized(o.Kind))
        {
            case null:
                problems.Add($"{P}Kind is not set: use 'vit' (with {P}Path <model folder>) or 'resnet' (with {P}Weights " +
                             $"<state dict .safetensors> and {P}Labels <label file>).");
                break;
            case "vit":
                if (string.IsNullOrWhiteSpace(o.Path))
                    problems.Add($"{P}Kind is vit but {P}Path is not set: give the ViTForImageClassification folder " +
                                 "(config.json and model.safetensors).");
                if (o.Weights is not null || o.Labels is not null || o.Depth is not null)
                    problems.Add($"{P}Weights, {P}Labels and {P}Depth are for resnet; a vit reads its folder ({P}Path).");
                if (o.Pooling is not null && Normalized(o.Pooling) is not ("cls" or "mean"))
                    problems.Add($"{P}Pooling is '{o.Pooling}': use 'cls' (CLS token) or 'mean' (mean of the patch tokens).");
                break;
            case "resnet":
                if (string.IsNullOrWhiteSpace(o.Weights) || string.IsNullOrWhiteSpace(o.Labels))
                    problems.Add($"{P}Kind is resnet: set {P}Weights (the torchvision state dict in safetensors) and " +
                                 $"{P}Labels (the label file).");
                if (o.Path is not null || o.Pooling is not null)
                    problems.Add($"{P}Path and {P}Pooling are for vit; a resnet reads {P}Weights and {P}Labels.");
                if (o.Depth is { } depth && !Depths.Contains(depth))
                    problems.Add($"{P}Depth is {depth}: use 18, 34, 50, 101 or 152, or leave it unset to read it from the weights.");
                if (Normalized(o.Preprocessing.Preset) == "preprocessor-config")
                    problems.Add($"{Pre}Preset preprocessor-config reads a ViT folder's preprocessor_config.json; a resnet has none.");
                break;
            default:
                problems.Add($"{P}Kind is '{o.Kind}': use 'vit' or 'resnet'.");
                break;
        }

        string device = Normalized(o.Device) ?? "auto";
        if (device is not ("auto" or "cpu" or "cuda") &&
            !(device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device[5..], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            problems.Add($"{P}Device is '{o.Device}': use auto, cpu, cuda or cuda:N.");
        if (o.Threads < 0)
            problems.Add($"{P}Threads is {o.Threads}: use 0 (LibTorch's default) or a positive count.");
        if (o.MaxBatchSize < 1)
            problems.Add($"{P}MaxBatchSize is {o.MaxBatchSize}: it must be at least 1.");
        if (o.MaxImageSide < 1)
            problems.Add($"{P}MaxImageSide is {o.MaxImageSide}: it must be at least 1.");
        if (!(o.RangeTolerance >= 0) || double.IsInfinity(o.RangeTolerance))
            problems.Add($"{P}RangeTolerance is {o.RangeTolerance}: it must be a finite number >= 0.");
        if (o.MaxConcurrentCalls < 1)
            problems.Add($"{P}MaxConcurrentCalls is {o.MaxConcurrentCalls}: it must be at least 1.");
        if (o.MaxQueuedCalls < 0)
            problems.Add($"{P}MaxQueuedCalls is {o.MaxQueuedCalls}: it must be 0 or more.");

        var pre = o.Preprocessing;
        if (!Presets.Contains(Normalized(pre.Preset) ?? "default"))
            problems.Add($"{Pre}Preset is '{pre.Preset}': use {string.Join(", ", Presets)}.");
        if (pre.ResizeShorterSide < 0)
            problems.Add($"{Pre}ResizeShorterSide is {pre.ResizeShorterSide}: give a size in pixels, or 0 for no resize.");
        if (pre.CropSize < 0)
            problems.Add($"{Pre}CropSize is {pre.CropSize}: give a size in pixels, or 0 for no crop.");
        if (pre.ResizeInterpolation is not null && Interpolation(pre.ResizeInterpolation) is null)
            problems.Add($"{Pre}ResizeInterpolation is '{pre.ResizeInterpolation}': use bicubic or bilinear.");
        if (pre.CropStyle is not null && CropStyle(pre.CropStyle) is null)
            problems.Add($"{Pre}CropStyle is '{pre.CropStyle}': use kornia, torchvision or transformers.");
        foreach (var (name, value) in new[] { ("Mean", pre.Mean), ("Std", pre.Std) })
            if (value is not null && Channels(value) is null)
                problems.Add($"{Pre}{name} is '{value}': give one number or three (RGB), comma-separated, e.g. 0.485,0.456,0.406.");
        if (pre.Normalize == false && (pre.Mean is not null || pre.Std is not null))
            problems.Add($"{Pre}Normalize is false, so {Pre}Mean and {Pre}Std would be ignored; give one or the other.");
        return problems;
    }

    /// <summary>One line for logs and readiness, e.g. "vit from tests/data/sd-tiny/vit-tiny on auto".</summary>
    public static string Describe(ClassifierOptions o) => Normalized(o.Kind) switch
    {
        "vit" => $"vit from {o.Path} on {o.Device}",
        "resnet" => $"resnet from {o.Weights} (labels {o.Labels}) on {o.Device}",
        _ => "no classifier configured",
    };

    /// <summary>Loads the configured classifier (throws with the reason when the files are missing or do not load).</summary>
    public static ClassifierPipeline Load(ClassifierOptions o)
    {
        var problems = Problems(o);
        if (problems.Count > 0)
            throw new OptionsValidationException(ClassifierOptions.Section, typeof(ClassifierOptions), problems);
        var device = DeviceSelection.Parse(o.Device);
        if (o.Threads > 0) TorchSharp.torch.set_num_threads(o.Threads);
        var limits = new ClassifierLimits(o.MaxBatchSize, o.MaxImageSide, o.RangeTolerance);
        var pre = o.Preprocessing;
        bool vit = Normalized(o.Kind) == "vit";
        // A named preset is complete before loading, so overrides apply to it directly; the default one depends on the
        // loaded model (its pooling and input size), so its overrides are applied after loading.
        ClassifierPreprocessing? chosen = Normalized(pre.Preset) switch
        {
            "imagenet" => ClassifierPreprocessing.ReferenceImageNet(vit ? VitInputSize(o.Path!) : 224),
            "finegrained" => ClassifierPreprocessing.ReferenceFineGrained(vit ? VitInputSize(o.Path!) : 224),
            "torchvision" => ClassifierPreprocessing.TorchvisionImageNet(),
            "preprocessor-config" => ClassifierPreprocessing.FromPreprocessorConfig(Path.Combine(o.Path!, "preprocessor_config.json")),
            "none" => new ClassifierPreprocessing(null, null, null),
            _ => null,
        };
        if (chosen is not null)
            chosen = ApplyOverrides(chosen, pre);

        var pipeline = vit
            ? ClassifierLoader.LoadVit(o.Path!, device, Pooling(o.Pooling), chosen, limits, o.ModelId)
            : ClassifierLoader.LoadResNet(o.Weights!, o.Labels!, device, o.Depth, chosen, limits, o.ModelId);
        if (chosen is not null || !pre.HasOverrides)
            return pipeline;
        try
        {
            // The pipeline owns only the model; a second one around the same model takes it over.
            return new ClassifierPipeline(pipeline.Model, ApplyOverrides(pipeline.Preprocessing, pre), pipeline.Info.ModelId, limits);
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }
    }

    /// <summary>The preprocessing with the configured steps replaced or adjusted.</summary>
    public static ClassifierPreprocessing ApplyOverrides(ClassifierPreprocessing basis, PreprocessingOptions pre)
    {
        var resize = basis.Resize;
        var interpolation = Interpolation(pre.ResizeInterpolation);
        if (pre.ResizeShorterSide is 0)
            resize = null;
        else if (pre.ResizeShorterSide is { } side)
            resize = ResizeStep.ShorterSide(side, interpolation ?? resize?.Interpolation ?? ResizeInterpolation.Bicubic,
                                            pre.ResizeAntialias ?? resize?.Antialias ?? false);
        else if (interpolation is not null || pre.ResizeAntialias is not null)
            resize = resize is null
                ? throw new ArgumentException($"{Pre}ResizeInterpolation/ResizeAntialias adjust a resize, but the preprocessing " +
                                              $"has none; set {Pre}ResizeShorterSide too.")
                : resize with { Interpolation = interpolation ?? resize.Interpolation, Antialias = pre.ResizeAntialias ?? resize.Antialias };

        var crop = basis.Crop;
        var style = CropStyle(pre.CropStyle);
        if (pre.CropSize is 0)
            crop = null;
        else if (pre.CropSize is { } size)
            crop = CenterCropStep.Create(size, size, style ?? crop?.Style ?? CenterCropStyle.Kornia);
        else if (style is not null)
            crop = crop is null
                ? throw new ArgumentException($"{Pre}CropStyle adjusts a center crop, but the preprocessing has none; set {Pre}CropSize too.")
                : crop with { Style = style.Value };

        var normalize = basis.Normalize;
        if (pre.Normalize == false)
            normalize = null;
        else if (pre.Mean is not null || pre.Std is not null)
        {
            var mean = Channels(pre.Mean) ?? normalize?.Mean;
            var std = Channels(pre.Std) ?? normalize?.Std;
            if (mean is null || std is null)
                throw new ArgumentException($"The preprocessing has no normalization to adjust; give both {Pre}Mean and {Pre}Std.");
            normalize = new NormalizeStep(mean, std);
        }
        return new ClassifierPreprocessing(resize, crop, normalize);
    }

    private static int VitInputSize(string folder)
    {
        var config = VitConfig.FromFile(Path.Combine(folder, "config.json"));
        return config.ImageHeight == config.ImageWidth
            ? config.ImageHeight
            : throw new ArgumentException($"The presets are square, but this ViT takes {config.ImageHeight}x{config.ImageWidth} " +
                                          $"images; set {Pre}ResizeShorterSide and {Pre}CropSize explicitly.");
    }

    private static string? Normalized(string? value) =>
        string.IsNullOrWhiteSpace(value) ? null : value.Trim().ToLowerInvariant();

    private static VitPooling? Pooling(string? value) => Normalized(value) switch
    {
        "cls" => VitPooling.ClsToken,
        "mean" => VitPooling.MeanPatchTokens,
        _ => null,
    };

    private static ResizeInterpolation? Interpolation(string? value) => Normalized(value) switch
    {
        "bicubic" => ResizeInterpolation.Bicubic,
        "bilinear" => ResizeInterpolation.Bilinear,
        _ => null,
    };

    private static CenterCropStyle? CropStyle(string? value) => Normalized(value) switch
    {
        "kornia" => CenterCropStyle.Kornia,
        "torchvision" => CenterCropStyle.Torchvision,
        "transformers" => CenterCropStyle.Transformers,
        _ => null,
    };

    private static double[]? Channels(string? value)
    {
        if (value is null) return null;
        var numbers = new List<double>();
        foreach (string part in value.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) || !double.IsFinite(number))
                return null;
            numbers.Add(number);
        }
        return numbers.Count switch
        {
            1 => [numbers[0], numbers[0], numbers[0]],
            3 => [.. numbers],
            _ => null,
        };
    }
}

/// <summary>Startup check of the <c>Classifier</c> section: every problem is listed with what to set.</summary>
public sealed class ClassifierOptionsValidator : IValidateOptions<ClassifierOptions>
{
    public ValidateOptionsResult Validate(string? name, ClassifierOptions options)
    {
        var problems = ClassifierConfiguration.Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
