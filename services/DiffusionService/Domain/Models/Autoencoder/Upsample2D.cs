using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>The VAE decoder's upsampler: nearest-neighbour x2, then a 3x3 conv (diffusers <c>Upsample2D</c>).</summary>
public sealed class Upsample2D : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public Upsample2D(int channels) : base(nameof(Upsample2D))
    {
        conv = nn.Conv2d(channels, channels, kernel_size: 3, stride: 1, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var upsampled = nn.functional.interpolate(input, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return conv.forward(upsampled);
    }
}
