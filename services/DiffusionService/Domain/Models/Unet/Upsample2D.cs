using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// Doubles the resolution by nearest-neighbour interpolation, then a 3x3 convolution. When the UNet input size is
/// not a multiple of its total downsampling factor, the caller passes the exact size of the matching skip tensor.
/// </summary>
public sealed class Upsample2D : nn.Module<Tensor, long[]?, Tensor>
{
    private readonly Conv2d conv;

    public Upsample2D(int channels, Device device) : base(nameof(Upsample2D))
    {
        conv = nn.Conv2d(channels, channels, kernel_size: 3, stride: 1, padding: 1, device: device);
        RegisterComponents();
    }

    /// <param name="input">[N, C, H, W]</param>
    /// <param name="outputSize">[H', W'] to interpolate to, or null for 2H x 2W.</param>
    public override Tensor forward(Tensor input, long[]? outputSize)
    {
        using var scope = NewDisposeScope();
        var upsampled = outputSize is null
            ? nn.functional.interpolate(input, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest)
            : nn.functional.interpolate(input, size: outputSize, mode: InterpolationMode.Nearest);
        return conv.call(upsampled).MoveToOuterDisposeScope();
    }
}
