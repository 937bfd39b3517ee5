namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>Progress of a sampling run: <paramref name="Step"/> of <paramref name="Total"/> UNet calls done (1-based),
/// the last at <paramref name="Timestep"/>.</summary>
public readonly record struct DenoisingProgress(int Step, int Total, double Timestep);
