using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>
/// diffusers' <c>AutoencoderKL</c>, the Stable Diffusion VAE. <see cref="Decode"/> does not apply the scaling factor:
/// callers divide latents by <see cref="ScalingFactor"/> first, as the diffusers pipelines do.
/// </summary>
public sealed class AutoencoderKL : nn.Module<Tensor, Tensor>
{
    public const string WeightsBaseName = "diffusion_pytorch_model";

    private readonly VaeEncoder encoder;
    private readonly VaeDecoder decoder;
    private readonly Conv2d? quant_conv;
    private readonly Conv2d? post_quant_conv;

    public AutoencoderKLConfig Config { get; }

    /// <summary>config scaling_factor: latents the UNet sees are posterior samples times this.</summary>
    public double ScalingFactor => Config.ScalingFactor;

    /// <summary>Image side / latent side: 2^(blocks-1) (8 for Stable Diffusion).</summary>
    public int SpatialScale => 1 << (Config.BlockOutChannels.Count - 1);

    public AutoencoderKL(AutoencoderKLConfig config) : base(nameof(AutoencoderKL))
    {
        Config = config;
        encoder = new VaeEncoder(config);
        decoder = new VaeDecoder(config);
        int moments = 2 * config.LatentChannels;
        quant_conv = config.UseQuantConv ? nn.Conv2d(moments, moments, kernel_size: 1) : null;
        post_quant_conv = config.UsePostQuantConv ? nn.Conv2d(config.LatentChannels, config.LatentChannels, kernel_size: 1) : null;
        RegisterComponents();
    }

    /// <summary>
    /// Builds the model from <c>{folder}/config.json</c> and loads <c>diffusion_pytorch_model.safetensors</c> (or its
    /// <paramref name="variant"/>; the fp16 file when it is the only one) strictly, as float32 on
    /// <paramref name="device"/>. The returned model is frozen: eval mode, no parameter requires grad.
    /// </summary>
    public static AutoencoderKL Load(string folder, Device device, string? variant = null)
    {
        var config = AutoencoderKLConfig.FromFile(PretrainedFolder.ConfigPath(folder));
        string weights = PretrainedFolder.WeightsPath(folder, WeightsBaseName, variant);
        var model = new AutoencoderKL(config);
        try
        {
            model.to(device);
            StateDictLoader.Load(model, [weights]);
            ModuleWeights.Freeze(model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The posterior over latents for images [N, in, H, W] in [-1, 1] (no scaling factor applied).</summary>
    public DiagonalGaussianDistribution Encode(Tensor image)
    {
        using var scope = NewDisposeScope();
        var moments = encoder.forward(image);
        if (quant_conv is not null)
            moments = quant_conv.forward(moments);
        var posterior = new DiagonalGaussianDistribution(moments);
        posterior.Mean.MoveToOuterDisposeScope();
        posterior.LogVar.MoveToOuterDisposeScope();
        posterior.Std.MoveToOuterDisposeScope();
        posterior.Var.MoveToOuterDisposeScope();
        return posterior;
    }

    /// <summary>Images [N, out, h·f, w·f], roughly in [-1, 1] and unclamped, from latents already divided by
    /// <see cref="ScalingFactor"/>.</summary>
    public Tensor Decode(Tensor latent)
    {
        using var scope = NewDisposeScope();
        var hidden = post_quant_conv is null ? latent : post_quant_conv.forward(latent);
        return decoder.forward(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>Reconstruction through the posterior mode, as diffusers' forward with sample_posterior=False.</summary>
    public override Tensor forward(Tensor image)
    {
        using var posterior = Encode(image);
        return Decode(posterior.Mean);
    }
}
