using System.Text.Json;

namespace DiscriminativeTokens.Diffusion.Models;

/// <summary>
/// Typed access to an upstream config.json (diffusers or transformers). Absent or null fields take the upstream
/// default; a field of the wrong type, or a value the caller rejects, is reported with the file, field and value.
/// </summary>
public sealed class ConfigJson
{
    private readonly JsonElement _root;

    public string Path { get; }

    private ConfigJson(string path, JsonElement root)
    {
        Path = path;
        _root = root;
    }

    public static ConfigJson Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Expected the model configuration {path}, but it does not exist.", path);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path} must hold a JSON object.");
            return new ConfigJson(path, document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>True when the field is missing or JSON null (upstream then uses its default).</summary>
    public bool IsAbsent(string name) =>
        !_root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null;

    public int Int(string name, int defaultValue) =>
        IsAbsent(name) ? defaultValue : AsInt(name, _root.GetProperty(name));

    public double Double(string name, double defaultValue)
    {
        if (IsAbsent(name)) return defaultValue;
        var value = _root.GetProperty(name);
        return value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw Invalid(name, value.GetRawText(), "expected a number");
    }

    public bool Bool(string name, bool defaultValue)
    {
        if (IsAbsent(name)) return defaultValue;
        var value = _root.GetProperty(name);
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(name, value.GetRawText(), "expected true or false"),
        };
    }

    public string String(string name, string defaultValue)
    {
        if (IsAbsent(name)) return defaultValue;
        var value = _root.GetProperty(name);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw Invalid(name, value.GetRawText(), "expected a string");
    }

    public int[] IntArray(string name, int[] defaultValue)
    {
        if (IsAbsent(name)) return defaultValue;
        var value = _root.GetProperty(name);
        if (value.ValueKind != JsonValueKind.Array)
            throw Invalid(name, value.GetRawText(), "expected an array of integers");
        return value.EnumerateArray().Select(item => AsInt(name, item)).ToArray();
    }

    public string[] StringArray(string name, string[] defaultValue)
    {
        if (IsAbsent(name)) return defaultValue;
        var value = _root.GetProperty(name);
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.String))
            throw Invalid(name, value.GetRawText(), "expected an array of strings");
        return value.EnumerateArray().Select(item => item.GetString()!).ToArray();
    }

    /// <summary>The raw JSON text of a field, for error messages.</summary>
    public string Raw(string name) => _root.TryGetProperty(name, out var value) ? value.GetRawText() : "(absent)";

    /// <summary>An error naming this file, the field and its value.</summary>
    public InvalidDataException Invalid(string name, string value, string reason) =>
        new($"{Path}: field '{name}' = {value} is not supported: {reason}.");

    private int AsInt(string name, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)
            ? result
            : throw Invalid(name, value.GetRawText(), "expected an integer");
}
