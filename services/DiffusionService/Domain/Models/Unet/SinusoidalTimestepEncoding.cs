using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// The DDPM sinusoidal timestep features (diffusers' <c>Timesteps</c> / <c>get_timestep_embedding</c>): frequencies
/// exp(-ln(10000) * i / (half - freq_shift)) for i &lt; half, sin and cos of timestep * frequency, cos first when
/// flip_sin_to_cos. No parameters; timesteps may be fractional.
/// </summary>
public static class SinusoidalTimestepEncoding
{
    private const double MaxPeriod = 10000;

    /// <param name="timesteps">[N] timesteps of any numeric dtype.</param>
    /// <param name="dim">Feature width (block_out_channels[0]); an odd width gets one zero column.</param>
    /// <returns>[N, dim] float32 features on the timesteps' device.</returns>
    public static Tensor Encode(Tensor timesteps, int dim, bool flipSinToCos, double freqShift)
    {
        if (timesteps.dim() != 1)
            throw new ArgumentException($"Timesteps must be a 1-D tensor, got shape [{string.Join(", ", timesteps.shape)}].",
                                        nameof(timesteps));
        int half = dim / 2;
        using var scope = NewDisposeScope();
        // Same op order and float32 arithmetic as upstream, so the features match to the last bit on CPU.
        var exponent = Scalars.Arange(0, half, ScalarType.Float32, timesteps.device).Times(-Math.Log(MaxPeriod));
        exponent = exponent.DividedBy(half - freqShift);
        var angles = timesteps.unsqueeze(1).to(ScalarType.Float32) * exponent.exp().unsqueeze(0);
        var features = flipSinToCos ? cat([angles.cos(), angles.sin()], 1) : cat([angles.sin(), angles.cos()], 1);
        if (dim % 2 == 1)
            features = nn.functional.pad(features, [0, 1, 0, 0]);
        return features.MoveToOuterDisposeScope();
    }
}
