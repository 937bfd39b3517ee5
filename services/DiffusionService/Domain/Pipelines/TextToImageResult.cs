using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>
/// Generated images [N, 3, H, W] float32 in [0, 1], the latents they were decoded from (before the VAE scaling), the
/// seed of each image (empty when explicit initial latents were given) and what the prompt encoder warned about.
/// </summary>
public sealed record TextToImageResult(torch.Tensor Images, torch.Tensor Latents, IReadOnlyList<long> Seeds,
                                       IReadOnlyList<string> Warnings) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        Latents.Dispose();
    }
}
