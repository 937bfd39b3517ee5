namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>diffusers <c>solver_type</c> of the second-order DPM-Solver update.</summary>
public enum DpmSolverType
{
    Midpoint,
    Heun,
}
