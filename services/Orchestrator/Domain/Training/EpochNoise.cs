using DiscriminativeTokens.Orchestration.Backends;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// The starting latents of an epoch. The reference re-seeds its generator with the same seed at the start of every
/// epoch, so every epoch regenerates the same N latents; here a CPU generator seeded with the seed draws them in
/// sequence with exactly the call the diffusion service uses for a seed, so micro-step 0 gets the noise the service
/// itself would draw for that seed. Because the noise depends on the seed alone, a checkpoint needs no RNG state.
/// </summary>
public static class EpochNoise
{
    /// <summary><paramref name="count"/> latents [1, channels, height / factor, width / factor], float32.</summary>
    public static IReadOnlyList<TensorData> Draw(ulong seed, int count, int latentChannels, int height, int width,
                                                 int vaeScaleFactor)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one latent is drawn.");
        if (latentChannels < 1 || vaeScaleFactor < 1 || height < vaeScaleFactor || width < vaeScaleFactor ||
            height % vaeScaleFactor != 0 || width % vaeScaleFactor != 0)
            throw new ArgumentException($"The image size {width}x{height} must be a positive multiple of the VAE scale factor " +
                                        $"{vaeScaleFactor} (latent channels {latentChannels}).");
        long[] shape = [1, latentChannels, height / vaeScaleFactor, width / vaeScaleFactor];
        using var generator = new Generator(seed, CPU);
        var latents = new TensorData[count];
        for (int i = 0; i < count; i++)
        {
            using var noise = randn(shape, ScalarType.Float32, CPU, generator: generator);
            latents[i] = TensorDataTorch.ToTensorData(noise);
        }
        return latents;
    }
}
