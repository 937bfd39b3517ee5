using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>
/// diffusers' VAE <c>Encoder</c>: image [N, in, H, W] to the posterior moments [N, 2·latent, H/f, W/f] (mean and
/// log-variance stacked on channels), f = 2^(blocks-1).
/// </summary>
public sealed class VaeEncoder : nn.Module<Tensor, Tensor>
{
    private const double Eps = 1e-6;

    private readonly Conv2d conv_in;
    private readonly ModuleList<DownEncoderBlock2D> down_blocks;
    private readonly VaeMidBlock2D mid_block;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;

    public VaeEncoder(AutoencoderKLConfig config) : base(nameof(VaeEncoder))
    {
        var widths = config.BlockOutChannels;
        conv_in = nn.Conv2d(config.InChannels, widths[0], kernel_size: 3, stride: 1, padding: 1);
        down_blocks = new ModuleList<DownEncoderBlock2D>();
        for (int i = 0; i < widths.Count; i++)
        {
            int input = i == 0 ? widths[0] : widths[i - 1];
            bool last = i == widths.Count - 1;
            down_blocks.Add(new DownEncoderBlock2D(input, widths[i], config.LayersPerBlock, config.NormNumGroups,
                                                   addDownsample: !last));
        }
        mid_block = new VaeMidBlock2D(widths[^1], config.NormNumGroups, config.MidBlockAddAttention);
        conv_norm_out = GroupNorms.Create(config.NormNumGroups, widths[^1], Eps);
        conv_out = nn.Conv2d(widths[^1], 2 * config.LatentChannels, kernel_size: 3, stride: 1, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor image)
    {
        using var scope = NewDisposeScope();
        var hidden = conv_in.forward(image);
        foreach (var block in down_blocks)
            hidden = block.forward(hidden);
        hidden = mid_block.forward(hidden);
        hidden = nn.functional.silu(conv_norm_out.forward(hidden));
        return conv_out.forward(hidden).MoveToOuterDisposeScope();
    }
}
