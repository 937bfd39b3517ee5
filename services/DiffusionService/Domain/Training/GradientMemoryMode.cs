namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>What a forward pass keeps for the backward pass.</summary>
public enum GradientMemoryMode
{
    /// <summary>
    /// Only the latent entering the first differentiated UNet call, the scheduler history that call needs and the
    /// token vector. The backward pass recomputes the differentiated calls, then backpropagates through them one at a
    /// time, recomputing each under autograd: memory stays flat however many calls are differentiated, at the price of
    /// two extra UNet forwards per differentiated call.
    /// </summary>
    Recompute,

    /// <summary>The autograd graph of the differentiated calls and the decode: fastest, memory grows with every call.</summary>
    KeepGraph,
}
