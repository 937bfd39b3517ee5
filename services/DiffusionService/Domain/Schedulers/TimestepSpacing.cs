namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// How inference timesteps are picked from the training range (diffusers <c>timestep_spacing</c>; Table 2 of
/// "Common Diffusion Noise Schedules and Sample Steps are Flawed").
/// </summary>
public enum TimestepSpacing
{
    /// <summary>"leading": multiples of num_train_timesteps // steps, plus steps_offset.</summary>
    Leading,

    /// <summary>"trailing": counted down from the last training timestep.</summary>
    Trailing,

    /// <summary>"linspace": evenly spaced between 0 and num_train_timesteps − 1, rounded where integral.</summary>
    Linspace,
}
