using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>
/// The VAE encoder's downsampler: pad one zero column on the right and one row at the bottom, then a stride-2 3x3
/// conv without padding (diffusers <c>Downsample2D</c> with padding 0), halving height and width.
/// </summary>
public sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public Downsample2D(int channels) : base(nameof(Downsample2D))
    {
        conv = nn.Conv2d(channels, channels, kernel_size: 3, stride: 2); // no conv padding: the forward pads asymmetrically
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var padded = nn.functional.pad(input, (0, 1, 0, 1));
        return conv.forward(padded);
    }
}
