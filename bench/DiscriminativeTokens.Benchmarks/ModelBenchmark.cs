using System.Globalization;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Models;
using DiscriminativeTokens.Diffusion.Models.Autoencoder;
using DiscriminativeTokens.Diffusion.Models.TextEncoder;
using DiscriminativeTokens.Diffusion.Models.Unet;
using DiscriminativeTokens.Diffusion.Pipelines;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// Seconds per text encode (prompt and negative prompt, 77 tokens), per UNet call (the CFG batch of 2) and per VAE
/// decode (one image), without gradients, on the tiny fixture model and on randomly initialised models with Stable
/// Diffusion 1.5's real configuration at 512×512 (latent 64×64); peak resident memory after each part.
/// </summary>
internal static class ModelBenchmark
{
    public static void Run(string repositoryRoot)
    {
        Console.WriteLine(HostInfo.Describe());
        Console.WriteLine(Invariant($"LibTorch threads: {get_num_threads()}"));
        Console.WriteLine();
        Console.WriteLine("| model | text encode s | UNet call s (batch 2) | VAE decode s | peak RSS after, GiB |");
        Console.WriteLine("|---|---:|---:|---:|---:|");

        using (var tiny = StableDiffusionModel.Load(Path.Combine(repositoryRoot, "tests", "data", "sd-tiny"), CPU))
        {
            var encoder = new PromptEncoder(tiny.Tokenizer, tiny.TextEncoder);
            int latent = tiny.SampleSize / tiny.VaeScaleFactor;
            Row("sd-tiny fixture (32×32 image)",
                () => encoder.Encode("a photo of a cat", "", PromptPaddingMode.MaxLength).Dispose(),
                () => tiny.Unet.forward(randn(2, 4, latent, latent), tensor(500L), randn(2, 77, tiny.TextHiddenSize)),
                () => tiny.Vae.Decode(randn(1, 4, latent, latent)),
                warmup: 3, repetitions: 20);
        }

        manual_seed(0);
        Console.Error.WriteLine("building SD-1.5-sized models with random weights (about a minute)...");
        var clip = new ClipTextModel(new ClipTextConfig(49408, 768, 3072, 12, 12, 77, 1e-5, ClipActivation.QuickGelu));
        var unet = UNet2DConditionModel.CreateRandom(UNet2DConditionConfig.StableDiffusion15(), CPU);
        var vae = new AutoencoderKL(new AutoencoderKLConfig(3, 3, [128, 256, 512, 512], 2, 32, 4, 0.18215, true, true, true));
        ModuleWeights.Freeze(clip);
        ModuleWeights.Freeze(vae);
        using var ids = randint(0, 49408, [2, 77]);
        Row("SD-1.5 configuration, random weights (512×512 image)",
            () => clip.forward(ids),
            () => unet.forward(randn(2, 4, 64, 64), tensor(500L), randn(2, 77, 768)),
            () => vae.Decode(randn(1, 4, 64, 64)),
            warmup: 1, repetitions: 2);
        Console.WriteLine();
    }

    private static void Row(string name, Action encode, Func<Tensor> unetCall, Func<Tensor> decode, int warmup, int repetitions)
    {
        Stats Time(string part, Action action)
        {
            Console.Error.WriteLine($"  {name}: {part}...");
            return Timing.Measure(() =>
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                action();
            }, warmup, repetitions);
        }

        var text = Time("text encode", encode);
        var unet = Time("UNet", () => unetCall());
        var vae = Time("VAE decode", () => decode());
        Console.WriteLine(Invariant(
            $"| {name} | {text.Median:0.000} | {unet.Median:0.000} | {vae.Median:0.000} | {PeakRssGiB():0.00} |"));
    }

    /// <summary>VmHWM: the process's peak resident set size.</summary>
    internal static double PeakRssGiB()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / (1024.0 * 1024.0);
        return double.NaN;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
