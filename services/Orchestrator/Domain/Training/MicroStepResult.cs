namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>One finished micro-step: classifier outcome and dLoss/dToken (after its backward succeeded).</summary>
internal sealed record MicroStepResult(int Index, float Loss, int PredictedClassId, float TargetProbability, float[] Gradient);
