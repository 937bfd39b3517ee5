using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>
/// dLoss/dv for the token vector v: <see cref="Gradient"/> is [hidden] float32, owned by the caller.
/// <see cref="DifferentiatedCalls"/> UNet calls contributed to it.
/// </summary>
public sealed record TokenGradient(torch.Tensor Gradient, int DifferentiatedCalls) : IDisposable
{
    public void Dispose() => Gradient.Dispose();
}
