using System.Text.Json;

namespace DiscriminativeTokens.Torch;

/// <summary>
/// Typed access to an upstream JSON configuration (diffusers' or transformers' config.json, preprocessor_config.json).
/// Absent or null fields take the upstream default; a field of the wrong type, or a value the caller rejects, is
/// reported with the file, field and value.
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
            throw new FileNotFoundException($"Expected the configuration file {path}, but it does not exist.", path);
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

    public double Double(string name, double defaultValue) =>
        IsAbsent(name) ? defaultValue : AsDouble(name, _root.GetProperty(name));

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

    /// <summary>A number, or an array of numbers (e.g. per-channel image_mean), as an array.</summary>
    public double[] DoubleArray(string name, double[] defaultValue)
    {
        if (IsAbsent(name)) return defaultValue;
        var value = _root.GetProperty(name);
        return value.ValueKind switch
        {
            JsonValueKind.Number => [value.GetDouble()],
            JsonValueKind.Array => value.EnumerateArray().Select(item => AsDouble(name, item)).ToArray(),
            _ => throw Invalid(name, value.GetRawText(), "expected a number or an array of numbers"),
        };
    }

    /// <summary>
    /// A size given as one integer (square) or as [height, width] — transformers accepts both for image_size and
    /// patch_size.
    /// </summary>
    public (int Height, int Width) IntPair(string name, int defaultValue)
    {
        if (IsAbsent(name)) return (defaultValue, defaultValue);
        var value = _root.GetProperty(name);
        if (value.ValueKind == JsonValueKind.Number)
        {
            int side = AsInt(name, value);
            return (side, side);
        }
        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 2)
            return (AsInt(name, value[0]), AsInt(name, value[1]));
        throw Invalid(name, value.GetRawText(), "expected an integer or [height, width]");
    }

    /// <summary>True when the field holds a JSON object (e.g. a size given as {"height", "width"}).</summary>
    public bool IsObject(string name) =>
        _root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object;

    /// <summary>The raw JSON of an object-valued field, or null when absent.</summary>
    public JsonElement? Object(string name)
    {
        if (IsAbsent(name)) return null;
        var value = _root.GetProperty(name);
        return value.ValueKind == JsonValueKind.Object ? value : throw Invalid(name, value.GetRawText(), "expected an object");
    }

    /// <summary>The raw JSON text of a field, for error messages.</summary>
    public string Raw(string name) => _root.TryGetProperty(name, out var value) ? value.GetRawText() : "(absent)";

    /// <summary>An error naming this file, the field and its value.</summary>
    public InvalidDataException Invalid(string name, string value, string reason) =>
        new($"{Path}: field '{name}' = {value} is not supported: {reason}.");

    public int AsInt(string name, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)
            ? result
            : throw Invalid(name, value.GetRawText(), "expected an integer");

    private double AsDouble(string name, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw Invalid(name, value.GetRawText(), "expected a number");
}
