using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>
/// A token to splice into prompts: every occurrence of <see cref="Placeholder"/> is one token whose input embedding is
/// <see cref="Embedding"/> ([hidden] float32). The embedding may require grad: gradients reach it and nothing else.
/// </summary>
public sealed record LearnedToken(string Placeholder, torch.Tensor Embedding);
