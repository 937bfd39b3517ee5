namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>The L2 norm of the accumulated gradient before and after clipping it to the maximum norm.</summary>
public readonly record struct GradientClip(double NormBefore, double NormAfter);
