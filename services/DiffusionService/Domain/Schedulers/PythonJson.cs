using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// Parses JSON written by Python's json module, which spells non-finite floats as bare Infinity, -Infinity and NaN
/// (diffusers writes e.g. "lambda_min_clipped": -Infinity). Those tokens become strings that
/// <see cref="SchedulerConfig"/> reads back as doubles; everything else is strict JSON.
/// </summary>
internal static class PythonJson
{
    private static readonly string[] NonFiniteTokens = ["-Infinity", "Infinity", "NaN"];

    public static JsonObject ParseObject(string text, string source)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(QuoteNonFiniteNumbers(text));
        }
        catch (JsonException e)
        {
            throw new SchedulerConfigException("(file)", null, $"{source} is not valid JSON: {e.Message}", e);
        }
        return node as JsonObject
               ?? throw new SchedulerConfigException("(file)", null, $"{source} must hold a JSON object.");
    }

    private static string QuoteNonFiniteNumbers(string text)
    {
        var output = new StringBuilder(text.Length + 16);
        bool inString = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (inString)
            {
                output.Append(c);
                if (c == '\\' && i + 1 < text.Length) output.Append(text[++i]);
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"')
            {
                inString = true;
                output.Append(c);
                continue;
            }
            string? token = NonFiniteTokens.FirstOrDefault(t => string.CompareOrdinal(text, i, t, 0, t.Length) == 0);
            if (token is not null)
            {
                output.Append('"').Append(token).Append('"');
                i += token.Length - 1;
                continue;
            }
            output.Append(c);
        }
        return output.ToString();
    }
}
