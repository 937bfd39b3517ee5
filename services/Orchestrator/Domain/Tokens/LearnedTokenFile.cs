using System.Text.Json;
using System.Text.Json.Serialization;
using DiscriminativeTokens.Torch;
using TorchSharp;

namespace DiscriminativeTokens.Orchestration.Tokens;

/// <summary>
/// A learned token on disk (DESIGN.md §2): learned_embeds.safetensors with exactly one float32 tensor [hidden size]
/// named by the placeholder string — what diffusers' load_textual_inversion reads — and the token.json sidecar.
/// </summary>
public static class LearnedTokenFile
{
    public const string EmbeddingsFileName = "learned_embeds.safetensors";
    public const string SidecarFileName = "token.json";

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Writes both files into <paramref name="folder"/> (each atomically: temporary file, then rename).</summary>
    public static void Write(string folder, LearnedToken token)
    {
        if (token.Embedding.Length != token.Sidecar.Model.TextHiddenSize)
            throw new ArgumentException($"The embedding has {token.Embedding.Length} values but the model's hidden size " +
                                        $"is {token.Sidecar.Model.TextHiddenSize}.");
        Directory.CreateDirectory(folder);
        using (var tensor = torch.tensor(token.Embedding, dtype: torch.float32))
            SafetensorsWriter.Write(Path.Combine(folder, EmbeddingsFileName), [new(token.Placeholder, tensor)]);
        AtomicFile.Write(Path.Combine(folder, SidecarFileName), stream => JsonSerializer.Serialize(stream, token.Sidecar, JsonOptions));
    }

    /// <summary>
    /// Loads a token for use with a model, refusing it when the model's text-encoder hidden size or weights hash is
    /// not the one the token was trained against. <paramref name="folderOrFile"/> is the token's folder, its
    /// learned_embeds.safetensors or its token.json.
    /// </summary>
    public static LearnedToken Load(string folderOrFile, int expectedHiddenSize, string expectedTextEncoderSha256)
    {
        var token = Read(folderOrFile);
        var model = token.Sidecar.Model;
        if (model.TextHiddenSize != expectedHiddenSize)
            throw new InvalidDataException(
                $"The token '{token.Placeholder}' was trained for a text encoder of hidden size {model.TextHiddenSize} " +
                $"(model '{model.ModelId}'), but this model's hidden size is {expectedHiddenSize}. Use the model it was " +
                "trained with, or train a token for this one.");
        if (!string.Equals(model.TextEncoderSha256, expectedTextEncoderSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"The token '{token.Placeholder}' was trained against text encoder weights with sha256 " +
                $"{model.TextEncoderSha256} (model '{model.ModelId}'), but this model's text encoder has sha256 " +
                $"{expectedTextEncoderSha256}. Use the model it was trained with, or train a token for this one.");
        return token;
    }

    /// <summary>Reads a token without checking it against a model.</summary>
    public static LearnedToken Read(string folderOrFile)
    {
        string folder = Directory.Exists(folderOrFile)
            ? folderOrFile
            : Path.GetDirectoryName(Path.GetFullPath(folderOrFile))!;
        string embeddings = Path.Combine(folder, EmbeddingsFileName);
        string sidecarPath = Path.Combine(folder, SidecarFileName);
        if (!File.Exists(embeddings))
            throw new FileNotFoundException($"{embeddings} does not exist: no learned token here.", embeddings);
        if (!File.Exists(sidecarPath))
            throw new FileNotFoundException($"{sidecarPath} does not exist: the token's sidecar is needed to check which " +
                                            "model it belongs to.", sidecarPath);

        TokenSidecar sidecar;
        try
        {
            sidecar = JsonSerializer.Deserialize<TokenSidecar>(File.ReadAllBytes(sidecarPath), JsonOptions)
                      ?? throw new InvalidDataException($"{sidecarPath} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{sidecarPath} is not a valid token sidecar: {e.Message}");
        }
        if (sidecar.FormatVersion > TokenSidecar.CurrentFormatVersion)
            throw new InvalidDataException($"{sidecarPath} has format version {sidecar.FormatVersion}; this build reads up " +
                                           $"to {TokenSidecar.CurrentFormatVersion}.");

        using var file = new SafetensorsFile(embeddings);
        if (file.Entries.Count != 1 || !file.Contains(sidecar.Placeholder))
            throw new InvalidDataException(
                $"{embeddings} should hold exactly one tensor named '{sidecar.Placeholder}' but holds " +
                $"[{string.Join(", ", file.Entries.Keys)}].");
        var entry = file.Entry(sidecar.Placeholder);
        if (entry.DType != torch.ScalarType.Float32 || entry.Shape.Length != 1)
            throw new InvalidDataException($"{embeddings}: '{sidecar.Placeholder}' must be float32 [hidden size], " +
                                           $"not {entry.DType} [{string.Join(", ", entry.Shape)}].");
        using var tensor = file.Read(sidecar.Placeholder);
        return new LearnedToken(tensor.data<float>().ToArray(), sidecar);
    }
}
