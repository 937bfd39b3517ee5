using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>
/// Replaces the input embedding of every occurrence of <see cref="TokenId"/> with <see cref="Embedding"/> (a vector of
/// the hidden size). The id may lie past the end of the vocabulary, as a newly added placeholder token does; gradients
/// reach <see cref="Embedding"/> while the frozen embedding matrix stays untouched.
/// </summary>
public readonly record struct TokenEmbeddingOverride(long TokenId, torch.Tensor Embedding);
