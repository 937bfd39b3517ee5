namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>How the training betas are spaced between beta_start and beta_end (diffusers <c>beta_schedule</c>).</summary>
public enum BetaSchedule
{
    /// <summary>"linear": betas evenly spaced.</summary>
    Linear,

    /// <summary>"scaled_linear": square roots evenly spaced, then squared (Stable Diffusion).</summary>
    ScaledLinear,
}
