using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>Creates GroupNorm layers with PyTorch's initial affine (weight 1, bias 0).</summary>
internal static class GroupNorms
{
    /// <summary>TorchSharp 0.107 allocates the affine parameters uninitialized; set them as PyTorch does.</summary>
    public static GroupNorm Create(int groups, int channels, double eps)
    {
        var norm = nn.GroupNorm(groups, channels, eps);
        using (no_grad())
        {
            norm.weight!.FillInPlace(1);
            norm.bias!.zero_();
        }
        return norm;
    }
}
