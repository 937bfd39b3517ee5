using System.Text.Json;
using DiscriminativeTokens.Torch;

namespace DiscriminativeTokens.Classification.Models;

/// <summary>
/// Finds the safetensors weights of a transformers model folder: <c>model.safetensors</c>, or the shards listed by
/// <c>model.safetensors.index.json</c>. Pickle checkpoints in their place are refused with conversion advice.
/// </summary>
public static class PretrainedWeights
{
    public const string WeightsFileName = "model.safetensors";
    public const string ShardIndexFileName = "model.safetensors.index.json";

    public static IReadOnlyList<string> Resolve(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Model folder {folder} does not exist.");
        string single = Path.Combine(folder, WeightsFileName);
        if (File.Exists(single)) return [single];
        string index = Path.Combine(folder, ShardIndexFileName);
        if (File.Exists(index)) return ReadShardIndex(folder, index);
        // A pickle checkpoint in place of safetensors gets the explanation of how to convert it.
        if (Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).FirstOrDefault(ModelFileGuard.IsPickle) is { } pickle)
            ModelFileGuard.RefusePickle(pickle);
        throw new FileNotFoundException($"Expected the weights file {single} (or {ShardIndexFileName}), but neither exists.", single);
    }

    private static IReadOnlyList<string> ReadShardIndex(string folder, string index)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{index} has no \"weight_map\" object.");
            var files = map.EnumerateObject()
                           .Select(entry => entry.Value.GetString() ?? throw new InvalidDataException($"{index}: '{entry.Name}' maps to no file."))
                           .Distinct(StringComparer.Ordinal)
                           .Select(name => Path.Combine(folder, name))
                           .ToList();
            foreach (string file in files)
                if (!File.Exists(file))
                    throw new FileNotFoundException($"{index} lists the shard {file}, which does not exist.", file);
            return files;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{index} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Every tensor name stored in the given files.</summary>
    public static HashSet<string> Keys(IReadOnlyList<string> files)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            using var weights = new SafetensorsFile(file);
            keys.UnionWith(weights.Entries.Keys);
        }
        return keys;
    }
}
