using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>
/// Text conditioning for classifier-free guidance: <see cref="Embeddings"/> is cat([unconditional, conditional]),
/// [2, L, hidden]. <see cref="Warnings"/> says what the caller should know (e.g. the prompt was truncated).
/// </summary>
public sealed record PromptConditioning(torch.Tensor Embeddings, IReadOnlyList<string> Warnings) : IDisposable
{
    public void Dispose() => Embeddings.Dispose();
}
