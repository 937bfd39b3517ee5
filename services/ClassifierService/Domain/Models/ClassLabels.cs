using System.Globalization;
using System.Text.Json;

namespace DiscriminativeTokens.Classification.Models;

/// <summary>
/// Reads class labels from a file: a JSON list of strings (index = class id), a JSON object mapping "0".."N-1" to
/// labels (also accepted under an "id2label" field, as in a transformers config), or plain text with one label per line.
/// </summary>
public static class ClassLabels
{
    public static IReadOnlyList<string> Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Expected the class label file {path}, but it does not exist.", path);
        string text = File.ReadAllText(path);
        string trimmed = text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        var labels = trimmed.StartsWith('[') || trimmed.StartsWith('{') ? ReadJson(path, trimmed) : ReadLines(path, text);
        if (labels.Count == 0)
            throw new InvalidDataException($"{path} holds no class labels.");
        return labels;
    }

    private static List<string> ReadLines(string path, string text)
    {
        var lines = text.TrimStart('\uFEFF').Split('\n').Select(line => line.TrimEnd('\r')).ToList();
        // A final newline (or several) ends the list; a blank line inside it would shift every later class id.
        while (lines.Count > 0 && lines[^1].Trim().Length == 0)
            lines.RemoveAt(lines.Count - 1);
        int blank = lines.FindIndex(line => line.Trim().Length == 0);
        if (blank >= 0)
            throw new InvalidDataException($"{path}: line {blank + 1} is blank; a label file has one label per line, " +
                                           "line i+1 naming class i.");
        return lines.Select(line => line.Trim()).ToList();
    }

    private static List<string> ReadJson(string path, string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("id2label", out var nested))
                root = nested;
            if (root.ValueKind == JsonValueKind.Array)
                return root.EnumerateArray()
                           .Select((item, i) => item.ValueKind == JsonValueKind.String
                               ? item.GetString()!
                               : throw new InvalidDataException($"{path}: entry {i} is {item.GetRawText()}, not a label string."))
                           .ToList();
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path} must hold a JSON list of labels or an object mapping class ids to labels.");
            var byId = new SortedDictionary<int, string>();
            foreach (var entry in root.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id) ||
                    entry.Value.ValueKind != JsonValueKind.String || !byId.TryAdd(id, entry.Value.GetString()!))
                    throw new InvalidDataException($"{path}: entry \"{entry.Name}\": {entry.Value.GetRawText()} is not a " +
                                                   "unique class id mapped to a label string.");
            }
            if (byId.Count > 0 && (byId.Keys.First() != 0 || byId.Keys.Last() != byId.Count - 1))
                throw new InvalidDataException($"{path} maps {byId.Count} class ids from {byId.Keys.First()} to " +
                                               $"{byId.Keys.Last()}; expected each of 0..{byId.Count - 1} once.");
            return byId.Values.ToList();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }
}
