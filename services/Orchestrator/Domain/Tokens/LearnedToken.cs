namespace DiscriminativeTokens.Orchestration.Tokens;

/// <summary>A learned token: its embedding (float32 [hidden size]) and the sidecar describing it.</summary>
public sealed record LearnedToken(float[] Embedding, TokenSidecar Sidecar)
{
    public string Placeholder => Sidecar.Placeholder;
}
