using DiscriminativeTokens.Diffusion.Models.Autoencoder;
using DiscriminativeTokens.Diffusion.Models.TextEncoder;
using DiscriminativeTokens.Diffusion.Models.Unet;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// A diffusers folder with Stable Diffusion 1.5's real configuration (CLIP ViT-L/14 text encoder, the 860M UNet, the
/// 4-block VAE, PNDM) and random weights, written once (about 4.3 GB) and reused, so the services' real load path is
/// measured at the real size without downloading anything. The tokenizer files are the CLIP ones of tests/data/sd-tiny.
/// Weights: matrices and kernels N(0, 1/fan_in), embeddings N(0, 0.02²), norm weights 1, biases 0 — activations of
/// a sane scale, so the timings and memory are those of real work (the images are noise).
/// </summary>
internal static class RandomStableDiffusion15
{
    public static string Ensure(string folder)
    {
        string done = Path.Combine(folder, ".complete");
        if (File.Exists(done)) return folder;
        Console.WriteLine($"Writing a randomly initialised SD-1.5-size model to {folder} (once, ~4.3 GB)...");
        Directory.CreateDirectory(folder);
        string tiny = RepositoryPaths.SdTiny;
        File.Copy(Path.Combine(tiny, "model_index.json"), Path.Combine(folder, "model_index.json"), overwrite: true);
        Directory.CreateDirectory(Path.Combine(folder, "scheduler"));
        File.Copy(Path.Combine(tiny, "scheduler", "scheduler_config.json"), Path.Combine(folder, "scheduler", "scheduler_config.json"), overwrite: true);
        Directory.CreateDirectory(Path.Combine(folder, "tokenizer"));
        foreach (string file in Directory.GetFiles(Path.Combine(tiny, "tokenizer")))
            File.Copy(file, Path.Combine(folder, "tokenizer", Path.GetFileName(file)), overwrite: true);

        torch.manual_seed(1234);
        string textEncoder = Write(folder, "text_encoder", "config.json", TextEncoderConfig);
        using (var model = new ClipTextModel(ClipTextConfig.FromFile(textEncoder)))
            WriteWeights(model, Path.Combine(folder, "text_encoder", "model.safetensors"));
        string vae = Write(folder, "vae", "config.json", VaeConfig);
        using (var model = new AutoencoderKL(AutoencoderKLConfig.FromFile(vae)))
            WriteWeights(model, Path.Combine(folder, "vae", "diffusion_pytorch_model.safetensors"));
        string unet = Write(folder, "unet", "config.json", UNet2DConditionConfig.StableDiffusion15Json);
        using (var model = UNet2DConditionModel.CreateRandom(UNet2DConditionConfig.FromFile(unet), CPU))
            WriteWeights(model, Path.Combine(folder, "unet", "diffusion_pytorch_model.safetensors"));
        File.WriteAllText(done, DateTime.UtcNow.ToString("O"));
        return folder;
    }

    private static string Write(string folder, string part, string file, string text)
    {
        Directory.CreateDirectory(Path.Combine(folder, part));
        string path = Path.Combine(folder, part, file);
        File.WriteAllText(path, text);
        return path;
    }

    private static void WriteWeights(nn.Module module, string path)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, value) in module.state_dict())
        {
            Tensor initialised;
            if (!value.is_floating_point())
                initialised = value.clone();
            else if (value.dim() == 1)
                initialised = name.EndsWith(".bias", StringComparison.Ordinal) ? zeros_like(value) : ones_like(value);
            else if (name.Contains("embedding", StringComparison.Ordinal))
                initialised = randn_like(value) * 0.02;
            else
                initialised = randn_like(value) / Math.Sqrt(value.numel() / value.shape[0]);
            tensors.Add(new(name, initialised));
        }
        SafetensorsWriter.Write(path, tensors);
        Console.WriteLine($"  {Path.GetRelativePath(Path.GetDirectoryName(Path.GetDirectoryName(path))!, path)}: " +
                          $"{tensors.Sum(t => t.Value.numel()) / 1e6:F0}M values");
    }

    // Configuration values of stable-diffusion-v1-5 (text_encoder, vae and unet config.json).
    private const string TextEncoderConfig = """
        {
          "architectures": ["CLIPTextModel"],
          "attention_dropout": 0.0,
          "bos_token_id": 0,
          "dropout": 0.0,
          "eos_token_id": 2,
          "hidden_act": "quick_gelu",
          "hidden_size": 768,
          "initializer_factor": 1.0,
          "initializer_range": 0.02,
          "intermediate_size": 3072,
          "layer_norm_eps": 1e-05,
          "max_position_embeddings": 77,
          "model_type": "clip_text_model",
          "num_attention_heads": 12,
          "num_hidden_layers": 12,
          "pad_token_id": 1,
          "projection_dim": 768,
          "torch_dtype": "float32",
          "vocab_size": 49408
        }
        """;

    private const string VaeConfig = """
        {
          "_class_name": "AutoencoderKL",
          "act_fn": "silu",
          "block_out_channels": [128, 256, 512, 512],
          "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
          "in_channels": 3,
          "latent_channels": 4,
          "layers_per_block": 2,
          "norm_num_groups": 32,
          "out_channels": 3,
          "sample_size": 512,
          "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
        }
        """;
}
