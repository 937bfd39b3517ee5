using System.Text.Json;
using DiscriminativeTokens.Diffusion.Models.Autoencoder;
using DiscriminativeTokens.Diffusion.Models.TextEncoder;
using DiscriminativeTokens.Diffusion.Models.Unet;
using DiscriminativeTokens.Diffusion.Schedulers;
using DiscriminativeTokens.Diffusion.Text;
using DiscriminativeTokens.Torch;
using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Loading;

/// <summary>
/// A Stable Diffusion 1.x/2.x model in the diffusers folder layout (model_index.json, tokenizer/, text_encoder/, unet/,
/// vae/, scheduler/), loaded onto one device with every weight frozen. Schedulers are created per sampling run, since
/// they carry state.
/// </summary>
public sealed class StableDiffusionModel : IDisposable
{
    private static readonly string[] SupportedPipelines = ["StableDiffusionPipeline"];
    private readonly Lazy<string> _textEncoderSha256;

    /// <summary>The name the model was loaded by (hub id or folder name).</summary>
    public string ModelId { get; }
    public string Folder { get; }
    public torch.Device Device { get; }
    public ClipTokenizer Tokenizer { get; }
    public ClipTextModel TextEncoder { get; }
    public UNet2DConditionModel Unet { get; }
    public AutoencoderKL Vae { get; }
    public SchedulerConfig SchedulerConfig { get; }

    /// <summary>Pixels per latent cell (8 for real SD models).</summary>
    public int VaeScaleFactor => Vae.SpatialScale;

    /// <summary>Default image side in pixels: the UNet's sample size times the VAE factor.</summary>
    public int SampleSize => (Unet.Config.SampleSize?.Height ?? 64) * VaeScaleFactor;

    public int TextHiddenSize => TextEncoder.Config.HiddenSize;

    /// <summary>Identifies the embedding space a learned token belongs to.</summary>
    public string TextEncoderSha256 => _textEncoderSha256.Value;

    private StableDiffusionModel(string modelId, string folder, torch.Device device, ClipTokenizer tokenizer,
                                 ClipTextModel textEncoder, UNet2DConditionModel unet, AutoencoderKL vae, SchedulerConfig scheduler)
    {
        ModelId = modelId;
        Folder = folder;
        Device = device;
        Tokenizer = tokenizer;
        TextEncoder = textEncoder;
        Unet = unet;
        Vae = vae;
        SchedulerConfig = scheduler;
        _textEncoderSha256 = new Lazy<string>(textEncoder.ComputeWeightsSha256);
    }

    /// <summary>Loads a diffusers folder or a hub id from the local Hugging Face cache.</summary>
    /// <param name="variant">Weights variant such as "fp16" (upcast to float32); null = plain files, else fp16 if alone.</param>
    public static StableDiffusionModel Load(string pathOrHubId, torch.Device device, string? variant = null)
    {
        string folder = ModelLocator.Resolve(pathOrHubId);
        CheckModelIndex(folder);
        // Same convolution kernels for every later pass, so equal seeds give equal images (see LibTorchProcess).
        LibTorchProcess.PrepareForModels();
        string Sub(string name) => Path.Combine(folder, name);
        var tokenizer = ClipTokenizer.FromFolder(Sub("tokenizer"));
        var scheduler = SchedulerConfig.Load(Path.Combine(Sub("scheduler"), "scheduler_config.json"));
        var textEncoder = ClipTextModel.Load(Sub("text_encoder"), device, variant);
        var unet = UNet2DConditionModel.Load(Sub("unet"), device);
        var vae = AutoencoderKL.Load(Sub("vae"), device, variant);
        string id = Directory.Exists(pathOrHubId) ? Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)) : pathOrHubId;
        return new StableDiffusionModel(id, folder, device, tokenizer, textEncoder, unet, vae, scheduler);
    }

    /// <summary>A fresh scheduler: the model's own, or another by name ("pndm", "ddim", "euler", "dpmpp2m").</summary>
    public Scheduler CreateScheduler(string? name = null) =>
        SchedulerFactory.FromConfig(SchedulerConfig, string.IsNullOrEmpty(name) ? null : name);

    private static void CheckModelIndex(string folder)
    {
        string index = Path.Combine(folder, "model_index.json");
        if (!File.Exists(index))
            throw new FileNotFoundException($"{folder} is not a diffusers model folder: model_index.json is missing.", index);
        using var document = JsonDocument.Parse(File.ReadAllText(index));
        string? pipeline = document.RootElement.TryGetProperty("_class_name", out var c) ? c.GetString() : null;
        if (pipeline is null || !SupportedPipelines.Contains(pipeline))
            throw new NotSupportedException($"{index}: _class_name '{pipeline}' is not supported; expected one of " +
                                            $"{string.Join(", ", SupportedPipelines)} (Stable Diffusion 1.x/2.x).");
        foreach (string part in new[] { "tokenizer", "text_encoder", "unet", "vae", "scheduler" })
            if (!Directory.Exists(Path.Combine(folder, part)))
                throw new DirectoryNotFoundException($"{folder} lacks the '{part}' folder that model_index.json implies.");
    }

    public void Dispose()
    {
        TextEncoder.Dispose();
        Unet.Dispose();
        Vae.Dispose();
    }
}
