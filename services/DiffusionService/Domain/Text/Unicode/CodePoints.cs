using System.Text;

namespace DiscriminativeTokens.Diffusion.Text.Unicode;

/// <summary>UTF-16 text as Unicode code points, the unit Python strings are made of.</summary>
internal static class CodePoints
{
    /// <summary>The code points of <paramref name="text"/>; an unpaired surrogate stays a code point of its own, as in Python.</summary>
    public static int[] Of(ReadOnlySpan<char> text)
    {
        var result = new List<int>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                result.Add(char.ConvertToUtf32(c, text[i + 1]));
                i++;
            }
            else
            {
                result.Add(c);
            }
        }
        return result.ToArray();
    }

    public static void Append(StringBuilder builder, int codePoint)
    {
        if (codePoint < 0x10000)
            builder.Append((char)codePoint);
        else
            builder.Append(char.ConvertFromUtf32(codePoint));
    }

    public static string ToText(IEnumerable<int> codePoints)
    {
        var builder = new StringBuilder();
        foreach (int cp in codePoints)
            Append(builder, cp);
        return builder.ToString();
    }
}
