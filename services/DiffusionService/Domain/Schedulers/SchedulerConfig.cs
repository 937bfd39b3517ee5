using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// The key/value settings of a diffusers <c>scheduler_config.json</c>, read with typed accessors that fall back to the
/// caller's default when a key is absent or null (as diffusers' <c>from_config</c> does) and fail with a
/// <see cref="SchedulerConfigException"/> naming the field when a value has the wrong type or an unsupported value.
/// It remembers which keys were read, so explicit options that no scheduler setting consumed can be rejected.
/// </summary>
public sealed class SchedulerConfig
{
    private readonly JsonObject _values;
    private readonly HashSet<string> _readKeys = new(StringComparer.Ordinal);

    /// <summary>Where the settings came from, for error messages (a path or "scheduler config").</summary>
    public string Source { get; }

    private SchedulerConfig(JsonObject values, string source)
    {
        _values = values;
        Source = source;
    }

    public static SchedulerConfig Parse(string json, string source = "scheduler config") =>
        new(PythonJson.ParseObject(json, source), source);

    public static SchedulerConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Scheduler config {path} does not exist.", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>The upstream class the config was written for (<c>_class_name</c>), if it says.</summary>
    public string? ClassName => _values["_class_name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String
        ? v.GetValue<string>()
        : null;

    public IEnumerable<string> Keys => _values.Select(p => p.Key);

    /// <summary>A copy with <paramref name="overrides"/> set on top of these settings (null removes a key).</summary>
    public SchedulerConfig With(IEnumerable<KeyValuePair<string, JsonNode?>> overrides)
    {
        var merged = (JsonObject)_values.DeepClone();
        foreach (var (key, value) in overrides)
            merged[key] = value?.DeepClone();
        return new SchedulerConfig(merged, Source);
    }

    /// <summary>Keys some accessor has read (whether or not the value was present).</summary>
    internal bool WasRead(string key) => _readKeys.Contains(key);

    public bool Contains(string key) => Node(key) is not null;

    public int Int(string key, int fallback)
    {
        if (Node(key) is not { } node) return fallback;
        double value = NumberOf(key, node);
        if (value != Math.Floor(value) || value < int.MinValue || value > int.MaxValue)
            throw Invalid(key, node, "an integer");
        return (int)value;
    }

    public double Double(string key, double fallback) => Node(key) is { } node ? NumberOf(key, node) : fallback;

    public double? NullableDouble(string key) => Node(key) is { } node ? NumberOf(key, node) : null;

    public bool Bool(string key, bool fallback)
    {
        if (Node(key) is not { } node) return fallback;
        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(key, node, "true or false"),
        };
    }

    public string? String(string key, string? fallback)
    {
        if (Node(key) is not { } node) return fallback;
        return node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : throw Invalid(key, node, "a string");
    }

    public double[]? DoubleArray(string key)
    {
        if (Node(key) is not { } node) return null;
        if (node is not JsonArray array) throw Invalid(key, node, "an array of numbers");
        return array.Select(item => item is null ? throw Invalid(key, node, "an array of numbers") : NumberOf(key, item))
                    .ToArray();
    }

    /// <summary>Reads a string setting and maps it through <paramref name="choices"/>; other strings are an error.</summary>
    public T Choice<T>(string key, T fallback, IReadOnlyDictionary<string, T> choices)
    {
        string? text = String(key, null);
        if (text is null) return fallback;
        if (choices.TryGetValue(text, out T? value)) return value;
        throw Unsupported(key, text, $"supported: {string.Join(", ", choices.Keys)}");
    }

    /// <summary>The error for a value this library does not implement.</summary>
    public SchedulerConfigException Unsupported(string key, object? value, string why)
    {
        string shown = value switch
        {
            null => "null",
            string s => $"\"{s}\"",
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        return new SchedulerConfigException(key, shown, $"{Source}: {key} = {shown} is not supported ({why}).");
    }

    private JsonNode? Node(string key)
    {
        _readKeys.Add(key);
        return _values[key];
    }

    private double NumberOf(string key, JsonNode node)
    {
        switch (node.GetValueKind())
        {
            case JsonValueKind.Number:
                return double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
            case JsonValueKind.String:
                // Python's json module writes non-finite floats as bare words; PythonJson turned them into strings.
                return node.GetValue<string>() switch
                {
                    "Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    "NaN" => double.NaN,
                    _ => throw Invalid(key, node, "a number"),
                };
            default:
                throw Invalid(key, node, "a number");
        }
    }

    private SchedulerConfigException Invalid(string key, JsonNode node, string expected)
    {
        string shown = node.ToJsonString();
        return new SchedulerConfigException(key, shown, $"{Source}: {key} = {shown} is not valid; expected {expected}.");
    }
}
