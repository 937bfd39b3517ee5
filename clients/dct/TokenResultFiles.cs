using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Cli;

/// <summary>Saves a training result as the two files other tools read: learned_embeds.safetensors and token.json.</summary>
public static class TokenResultFiles
{
    public const string EmbeddingsFileName = "learned_embeds.safetensors";
    public const string SidecarFileName = "token.json";

    /// <summary>Where a job's token goes unless --out says otherwise: $DCT_TOKENS_DIR/&lt;job id&gt;, else dct-tokens/&lt;job id&gt;.</summary>
    public static string DefaultFolder(string jobId) =>
        Path.Combine(Environment.GetEnvironmentVariable("DCT_TOKENS_DIR") is { Length: > 0 } root ? root : "dct-tokens", jobId);

    public static IReadOnlyList<string> Write(TrainingResult result, string folder)
    {
        Directory.CreateDirectory(folder);
        string embeddings = Path.Combine(folder, EmbeddingsFileName);
        string sidecar = Path.Combine(folder, SidecarFileName);
        WriteAtomically(embeddings, result.LearnedEmbedsSafetensors.ToByteArray());
        WriteAtomically(sidecar, System.Text.Encoding.UTF8.GetBytes(result.SidecarJson));
        return [embeddings, sidecar];
    }

    // A half-written token file must never look like a finished one.
    private static void WriteAtomically(string path, byte[] bytes)
    {
        string temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }
}
