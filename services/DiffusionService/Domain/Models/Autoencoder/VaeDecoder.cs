using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>diffusers' VAE <c>Decoder</c>: latent [N, latent, h, w] to image [N, out, h·f, w·f].</summary>
public sealed class VaeDecoder : nn.Module<Tensor, Tensor>
{
    private const double Eps = 1e-6;

    private readonly Conv2d conv_in;
    private readonly VaeMidBlock2D mid_block;
    private readonly ModuleList<UpDecoderBlock2D> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;

    public VaeDecoder(AutoencoderKLConfig config) : base(nameof(VaeDecoder))
    {
        var widths = config.BlockOutChannels.Reverse().ToArray();
        conv_in = nn.Conv2d(config.LatentChannels, widths[0], kernel_size: 3, stride: 1, padding: 1);
        mid_block = new VaeMidBlock2D(widths[0], config.NormNumGroups, config.MidBlockAddAttention);
        up_blocks = new ModuleList<UpDecoderBlock2D>();
        for (int i = 0; i < widths.Length; i++)
        {
            int input = i == 0 ? widths[0] : widths[i - 1];
            bool last = i == widths.Length - 1;
            // Decoder blocks have one resnet more than encoder blocks.
            up_blocks.Add(new UpDecoderBlock2D(input, widths[i], config.LayersPerBlock + 1, config.NormNumGroups,
                                               addUpsample: !last));
        }
        conv_norm_out = GroupNorms.Create(config.NormNumGroups, widths[^1], Eps);
        conv_out = nn.Conv2d(widths[^1], config.OutChannels, kernel_size: 3, stride: 1, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor latent)
    {
        using var scope = NewDisposeScope();
        var hidden = mid_block.forward(conv_in.forward(latent));
        foreach (var block in up_blocks)
            hidden = block.forward(hidden);
        hidden = nn.functional.silu(conv_norm_out.forward(hidden));
        return conv_out.forward(hidden).MoveToOuterDisposeScope();
    }
}
