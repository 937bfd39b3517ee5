using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>
/// The VAE posterior: an axis-aligned Gaussian per latent element. Built from moments [N, 2C, h, w] split on
/// channels into mean and log-variance; the log-variance is clamped to [-30, 20] as diffusers does.
/// </summary>
public sealed class DiagonalGaussianDistribution : IDisposable
{
    public const double MinLogVar = -30.0;
    public const double MaxLogVar = 20.0;

    public Tensor Mean { get; }
    public Tensor LogVar { get; }
    public Tensor Std { get; }
    public Tensor Var { get; }

    public DiagonalGaussianDistribution(Tensor moments)
    {
        using var scope = NewDisposeScope();
        var halves = moments.chunk(2, dim: 1);
        Mean = halves[0].MoveToOuterDisposeScope();
        LogVar = halves[1].Clamped(MinLogVar, MaxLogVar).MoveToOuterDisposeScope();
        Std = LogVar.Times(0.5).exp().MoveToOuterDisposeScope();
        Var = LogVar.exp().MoveToOuterDisposeScope();
    }

    /// <summary>The distribution's mode (= its mean).</summary>
    public Tensor Mode() => Mean.alias();

    /// <summary>mean + std·ε with ε ~ N(0, 1) drawn from <paramref name="generator"/> (or the global one).</summary>
    public Tensor Sample(Generator? generator = null)
    {
        using var noise = randn(Mean.shape, Mean.dtype, Mean.device, generator: generator);
        return Mean.Plus(Std * noise);
    }

    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
        Std.Dispose();
        Var.Dispose();
    }
}
