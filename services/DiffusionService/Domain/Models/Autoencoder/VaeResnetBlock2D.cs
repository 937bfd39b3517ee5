using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>
/// diffusers' <c>ResnetBlock2D</c> as the VAE uses it (no time embedding): two GroupNorm-SiLU-conv3x3 stages plus a
/// 1x1 conv shortcut when the width changes.
/// </summary>
public sealed class VaeResnetBlock2D : nn.Module<Tensor, Tensor>
{
    private const double Eps = 1e-6;

    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? conv_shortcut;

    public VaeResnetBlock2D(int inChannels, int outChannels, int groups) : base(nameof(VaeResnetBlock2D))
    {
        norm1 = GroupNorms.Create(groups, inChannels, Eps);
        conv1 = nn.Conv2d(inChannels, outChannels, kernel_size: 3, stride: 1, padding: 1);
        norm2 = GroupNorms.Create(groups, outChannels, Eps);
        conv2 = nn.Conv2d(outChannels, outChannels, kernel_size: 3, stride: 1, padding: 1);
        conv_shortcut = inChannels != outChannels ? nn.Conv2d(inChannels, outChannels, kernel_size: 1) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = conv1.forward(nn.functional.silu(norm1.forward(input)));
        hidden = conv2.forward(nn.functional.silu(norm2.forward(hidden)));
        var shortcut = conv_shortcut is null ? input : conv_shortcut.forward(input);
        return shortcut.Plus(hidden).MoveToOuterDisposeScope();
    }
}
