using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// diffusers' ResnetBlock2D with additive time conditioning ("default" time_embedding_norm):
/// out = (shortcut(x) + conv2(drop(silu(norm2(conv1(silu(norm1(x))) + proj(silu(temb))))))) / output_scale_factor.
/// A 1x1 conv_shortcut exists only when the channel count changes.
/// </summary>
public sealed class ResnetBlock2D : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear time_emb_proj;
    private readonly GroupNorm norm2;
    private readonly Dropout dropout;
    private readonly Conv2d conv2;
    private readonly Conv2d? conv_shortcut;
    private readonly double _outputScaleFactor;

    public ResnetBlock2D(int inChannels, int outChannels, int tembChannels, int groups, double eps,
                         double dropoutProbability, double outputScaleFactor, Device device)
        : base(nameof(ResnetBlock2D))
    {
        norm1 = NormalizationLayers.GroupNorm(groups, inChannels, eps, device);
        conv1 = nn.Conv2d(inChannels, outChannels, kernel_size: 3, stride: 1, padding: 1, device: device);
        time_emb_proj = nn.Linear(tembChannels, outChannels, hasBias: true, device: device);
        norm2 = NormalizationLayers.GroupNorm(groups, outChannels, eps, device);
        dropout = nn.Dropout(dropoutProbability);
        conv2 = nn.Conv2d(outChannels, outChannels, kernel_size: 3, stride: 1, padding: 1, device: device);
        if (inChannels != outChannels)
            conv_shortcut = nn.Conv2d(inChannels, outChannels, kernel_size: 1, stride: 1, device: device);
        _outputScaleFactor = outputScaleFactor;
        RegisterComponents();
    }

    /// <param name="input">[N, in, H, W]</param>
    /// <param name="temb">[N, temb_channels] time embedding (before the block's own SiLU).</param>
    public override Tensor forward(Tensor input, Tensor temb)
    {
        using var scope = NewDisposeScope();
        var hidden = conv1.call(nn.functional.silu(norm1.call(input)));
        var time = time_emb_proj.call(nn.functional.silu(temb)).unsqueeze(-1).unsqueeze(-1);
        hidden = norm2.call(hidden.Plus(time));
        hidden = conv2.call(dropout.call(nn.functional.silu(hidden)));
        var shortcut = conv_shortcut is null ? input : conv_shortcut.call(input);
        var output = shortcut.Plus(hidden);
        // Division by 1 is the identity; skip it rather than add an op.
        if (_outputScaleFactor != 1) output = output.DividedBy(_outputScaleFactor);
        return output.MoveToOuterDisposeScope();
    }
}
