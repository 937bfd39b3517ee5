using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>What a <see cref="TokenGradientForward"/> keeps to compute dLoss/dv later; one subclass per memory mode.</summary>
internal abstract class BackwardState : IDisposable
{
    /// <summary>dLoss/dv ([hidden] float32, in the current dispose scope) from dLoss/dImage.</summary>
    public abstract torch.Tensor Backward(torch.Tensor imageGradient);

    public abstract void Dispose();
}
