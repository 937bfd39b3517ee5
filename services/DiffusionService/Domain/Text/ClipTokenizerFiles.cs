using System.Text.Json;

namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// The contents of a diffusers/transformers `tokenizer/` folder of a CLIPTokenizer: vocab.json, merges.txt,
/// tokenizer_config.json, special_tokens_map.json and, after tokens were added, added_tokens.json. Special tokens
/// resolve as transformers does: CLIPTokenizer's defaults, overridden by tokenizer_config.json, overridden by
/// special_tokens_map.json.
/// </summary>
internal sealed record ClipTokenizerFiles(
    string Folder,
    Dictionary<string, int> Vocabulary,
    List<(string First, string Second)> Merges,
    int ModelMaxLength,
    string BosToken,
    string EosToken,
    string UnknownToken,
    string PadToken,
    IReadOnlyList<string> AdditionalSpecialTokens,
    IReadOnlyList<KeyValuePair<string, int>> AddedTokens)
{
    // CLIPTokenizer reads merges.txt as text.strip().split("\n")[1 : 49152 - 256 - 2 + 1]: the first line (the
    // "#version" header) is skipped and at most 48894 merges are used.
    private const int MaxMerges = 49152 - 256 - 2;

    public static ClipTokenizerFiles Read(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Tokenizer folder {folder} does not exist.");
        Dictionary<string, int> vocabulary = ReadVocabulary(Required(folder, "vocab.json"));
        List<(string, string)> merges = ReadMerges(Required(folder, "merges.txt"));

        string configPath = Path.Combine(folder, "tokenizer_config.json");
        string mapPath = Path.Combine(folder, "special_tokens_map.json");
        using JsonDocument? config = File.Exists(configPath) ? ParseJson(configPath) : null;
        using JsonDocument? map = File.Exists(mapPath) ? ParseJson(mapPath) : null;

        string Token(string key, string fallback) =>
            TokenString(map, key, mapPath) ?? TokenString(config, key, configPath) ?? fallback;

        List<string> additional = TokenList(map, "additional_special_tokens", mapPath)
                                  ?? TokenList(config, "additional_special_tokens", configPath) ?? [];

        return new ClipTokenizerFiles(
            folder, vocabulary, merges,
            ReadModelMaxLength(config, configPath),
            BosToken: Token("bos_token", "<|startoftext|>"),
            EosToken: Token("eos_token", "<|endoftext|>"),
            UnknownToken: Token("unk_token", "<|endoftext|>"),
            PadToken: Token("pad_token", "<|endoftext|>"),
            additional.Distinct(StringComparer.Ordinal).ToList(),
            ReadAddedTokens(Path.Combine(folder, "added_tokens.json")));
    }

    private static string Required(string folder, string name)
    {
        string path = Path.Combine(folder, name);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"Tokenizer folder {folder} has no {name}; a CLIP tokenizer needs vocab.json and merges.txt.", path);
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        using JsonDocument document = ParseJson(path);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path} must be a JSON object mapping token strings to ids.");
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in document.RootElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new InvalidDataException($"{path}: token '{entry.Name}' has id {entry.Value.GetRawText()}, not a non-negative integer.");
            vocabulary[entry.Name] = id;
        }
        if (vocabulary.Count == 0)
            throw new InvalidDataException($"{path} is empty.");
        return vocabulary;
    }

    private static List<(string, string)> ReadMerges(string path)
    {
        string[] lines = File.ReadAllText(path).Trim().Split('\n');
        var merges = new List<(string, string)>();
        for (int i = 1; i < lines.Length && merges.Count < MaxMerges; i++)
        {
            string[] parts = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
                throw new InvalidDataException($"{path} line {i + 1}: expected two symbols separated by a space, found '{lines[i].TrimEnd()}'.");
            merges.Add((parts[0], parts[1]));
        }
        return merges;
    }

    private static int ReadModelMaxLength(JsonDocument? config, string path)
    {
        if (config is null || !config.RootElement.TryGetProperty("model_max_length", out JsonElement value))
            throw new InvalidDataException($"{path}: model_max_length is missing; CLIP tokenizers need it (77 for Stable Diffusion).");
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int length) || length < 2 || length > 1_000_000)
            throw new InvalidDataException($"{path}: model_max_length {value.GetRawText()} is not supported; expected the text " +
                                           "encoder's number of positions (77 for Stable Diffusion).");
        return length;
    }

    /// <summary>A special token entry: a plain string or an AddedToken object with "content"; null when absent.</summary>
    private static string? TokenString(JsonDocument? document, string key, string path)
    {
        if (document is null || !document.RootElement.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            return null;
        return TokenContent(value, key, path);
    }

    private static List<string>? TokenList(JsonDocument? document, string key, string path)
    {
        if (document is null || !document.RootElement.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: {key} must be a list, not {value.GetRawText()}.");
        return value.EnumerateArray().Select(e => TokenContent(e, key, path)).ToList();
    }

    private static string TokenContent(JsonElement value, string key, string path)
    {
        if (value.ValueKind == JsonValueKind.String)
            return value.GetString()!;
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out JsonElement content)
            && content.ValueKind == JsonValueKind.String)
            return content.GetString()!;
        throw new InvalidDataException($"{path}: {key} must be a string or an object with a \"content\" string, not {value.GetRawText()}.");
    }

    private static List<KeyValuePair<string, int>> ReadAddedTokens(string path)
    {
        if (!File.Exists(path))
            return [];
        using JsonDocument document = ParseJson(path);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path} must be a JSON object mapping token strings to ids.");
        var tokens = new List<KeyValuePair<string, int>>();
        foreach (JsonProperty entry in document.RootElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id))
                throw new InvalidDataException($"{path}: added token '{entry.Name}' has id {entry.Value.GetRawText()}, not an integer.");
            tokens.Add(new(entry.Name, id));
        }
        return tokens.OrderBy(t => t.Value).ToList();
    }
}
