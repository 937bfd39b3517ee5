using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// Group and layer norms starting from PyTorch's initial affine parameters (weight 1, bias 0). TorchSharp 0.107
/// creates GroupNorm's affine parameters with torch.empty, so a model built without loading weights would otherwise
/// normalize with garbage (often NaN).
/// </summary>
internal static class NormalizationLayers
{
    public static GroupNorm GroupNorm(int groups, int channels, double eps, Device device)
    {
        var norm = nn.GroupNorm(groups, channels, eps, affine: true, device: device);
        ResetAffine(norm.weight, norm.bias);
        return norm;
    }

    public static LayerNorm LayerNorm(int dim, double eps, Device device)
    {
        var norm = nn.LayerNorm(dim, eps, elementwise_affine: true, device: device);
        ResetAffine(norm.weight, norm.bias);
        return norm;
    }

    private static void ResetAffine(Tensor? weight, Tensor? bias)
    {
        using var _ = no_grad();
        weight?.FillInPlace(1);
        bias?.zero_();
    }
}
