namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>How the differentiable sampling loop treats the scheduler's input and noise scalings.</summary>
public enum SamplingLoopStyle
{
    /// <summary>
    /// As diffusers' pipeline: initial noise times init_noise_sigma and every UNet input through scale_model_input.
    /// Correct for every scheduler, Euler-type ones included.
    /// </summary>
    Proper,

    /// <summary>
    /// Exactly the DCT reference loop (run.py): neither init_noise_sigma nor scale_model_input. Harmless for PNDM and
    /// DDIM, whose scalings are identities; wrong for Euler-type schedulers. Kept for parity.
    /// </summary>
    Reference,
}
