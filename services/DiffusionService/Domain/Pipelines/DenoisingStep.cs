using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>
/// One finished step of a sampling run. <paramref name="GuidedModelOutput"/> is the model output the scheduler was
/// given (after classifier-free guidance) and <paramref name="Latents"/> the scheduler's result. Both are borrowed for
/// the duration of the callback. The callback runs inside the pipeline's dispose scopes, so a tensor it creates is
/// freed with them too: keep one with <c>GuidedModelOutput.clone().DetachFromDisposeScope()</c> and dispose it yourself.
/// </summary>
public sealed record DenoisingStep(int Index, int Total, double Timestep, torch.Tensor GuidedModelOutput, torch.Tensor Latents);
