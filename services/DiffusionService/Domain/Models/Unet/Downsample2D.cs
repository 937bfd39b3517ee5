using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// Halves the resolution with a stride-2 3x3 convolution. With padding 0, diffusers first pads one zero column on the
/// right and one row at the bottom (asymmetric), so odd and even sizes behave as with padding 1.
/// </summary>
public sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly int _padding;

    public Downsample2D(int channels, int padding, Device device) : base(nameof(Downsample2D))
    {
        conv = nn.Conv2d(channels, channels, kernel_size: 3, stride: 2, padding: padding, device: device);
        _padding = padding;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (_padding != 0) return conv.call(input);
        using var scope = NewDisposeScope();
        return conv.call(nn.functional.pad(input, [0, 1, 0, 1])).MoveToOuterDisposeScope();
    }
}
