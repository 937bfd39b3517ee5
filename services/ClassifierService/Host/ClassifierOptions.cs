namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// The <c>Classifier</c> configuration section (appsettings.json, environment variables <c>Classifier__Kind</c>, or the
/// command line <c>--Classifier:Kind vit --Classifier:Path &lt;folder&gt;</c>). Checked at startup by
/// <see cref="ClassifierOptionsValidator"/>; whether the files exist and load is found out by loading them, and a
/// failure there leaves the service up and NOT_SERVING.
/// </summary>
public sealed class ClassifierOptions
{
    public const string Section = "Classifier";

    /// <summary><c>vit</c> (a transformers ViTForImageClassification folder) or <c>resnet</c> (a torchvision state dict).</summary>
    public string? Kind { get; set; }

    /// <summary>vit: the model folder (config.json and model.safetensors).</summary>
    public string? Path { get; set; }

    /// <summary>resnet: the safetensors state dict.</summary>
    public string? Weights { get; set; }

    /// <summary>resnet: the label file (text lines, a JSON list, or an id → label object).</summary>
    public string? Labels { get; set; }

    /// <summary>resnet: 18, 34, 50, 101 or 152; inferred from the weights when unset (and checked when set).</summary>
    public int? Depth { get; set; }

    /// <summary>vit: <c>cls</c> or <c>mean</c> (patch tokens); unset reads the checkpoint (see VitForImageClassification.Load).</summary>
    public string? Pooling { get; set; }

    /// <summary><c>auto</c> (CUDA when available), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>LibTorch intra-op threads for CPU work; 0 = LibTorch's default (one per core). When the classifier
    /// shares a small machine with the diffusion service, 1 avoids the two fighting over the cores.</summary>
    public int Threads { get; set; }

    /// <summary>The model_id reported by GetInfo; default: the folder name (or "org/name" of a Hugging Face cache snapshot).</summary>
    public string? ModelId { get; set; }

    /// <summary>Largest batch one call may carry.</summary>
    public int MaxBatchSize { get; set; } = 16;

    /// <summary>Largest accepted image height or width, in pixels.</summary>
    public int MaxImageSide { get; set; } = 4096;

    /// <summary>How far image values may lie outside [0, 1] before a request is refused.</summary>
    public double RangeTolerance { get; set; } = 1e-3;

    /// <summary>Calls that run the model at the same time. 1 serializes model use.</summary>
    public int MaxConcurrentCalls { get; set; } = 1;

    /// <summary>
    /// Calls that may wait for the model (receiving their images or queued) beyond those running; further calls are
    /// refused at once with RESOURCE_EXHAUSTED.
    /// </summary>
    public int MaxQueuedCalls { get; set; } = 8;

    /// <summary>Preprocessing overrides; all unset keeps the classifier's default preprocessing.</summary>
    public PreprocessingOptions Preprocessing { get; set; } = new();
}

/// <summary>
/// <c>Classifier:Preprocessing</c>: a starting point (<see cref="Preset"/>) and overrides of its steps.
/// </summary>
public sealed class PreprocessingOptions
{
    /// <summary>
    /// <c>default</c> (vit: the reference method's, by pooling; resnet: torchvision's), <c>imagenet</c> (bicubic shorter
    /// side 256/224 of the crop, kornia crop, mean = std = 0.5), <c>finegrained</c> (bicubic shorter side = crop, kornia
    /// crop, ImageNet mean/std), <c>torchvision</c> (antialiased bilinear 256, crop 224, ImageNet mean/std),
    /// <c>preprocessor-config</c> (vit: the folder's preprocessor_config.json) or <c>none</c>.
    /// </summary>
    public string Preset { get; set; } = "default";

    /// <summary>Resize the shorter side to this many pixels (0 removes the resize).</summary>
    public int? ResizeShorterSide { get; set; }

    /// <summary><c>bicubic</c> or <c>bilinear</c>.</summary>
    public string? ResizeInterpolation { get; set; }

    public bool? ResizeAntialias { get; set; }

    /// <summary>Square center crop of this many pixels (0 removes the crop).</summary>
    public int? CropSize { get; set; }

    /// <summary><c>kornia</c>, <c>torchvision</c> or <c>transformers</c> (how an odd margin is split).</summary>
    public string? CropStyle { get; set; }

    /// <summary>Normalization mean (RGB): one number or three, comma-separated, e.g. "0.485,0.456,0.406". Give Std with it.</summary>
    public string? Mean { get; set; }

    /// <summary>Normalization standard deviation (RGB): one number or three, comma-separated.</summary>
    public string? Std { get; set; }

    /// <summary>False drops the normalization.</summary>
    public bool? Normalize { get; set; }

    public bool HasOverrides =>
        ResizeShorterSide is not null || ResizeInterpolation is not null || ResizeAntialias is not null ||
        CropSize is not null || CropStyle is not null || Mean is not null || Std is not null || Normalize is not null;
}
