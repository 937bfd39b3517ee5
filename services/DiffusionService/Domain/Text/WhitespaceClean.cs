using System.Text;

namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// CLIP's whitespace_clean: every run of whitespace becomes one space, then the ends are stripped. The run is
/// matched by the `regex` module's \s (Unicode White_Space); Python's str.strip also strips U+001C..U+001F.
/// </summary>
internal static class WhitespaceClean
{
    public static string Apply(string text)
    {
        var builder = new StringBuilder(text.Length);
        bool inRun = false;
        foreach (char c in text)
        {
            if (IsWhiteSpace(c))
            {
                if (!inRun)
                    builder.Append(' ');
                inRun = true;
            }
            else
            {
                builder.Append(c);
                inRun = false;
            }
        }
        int start = 0, end = builder.Length;
        while (start < end && IsPythonSpace(builder[start])) start++;
        while (end > start && IsPythonSpace(builder[end - 1])) end--;
        return builder.ToString(start, end - start);
    }

    /// <summary>Unicode White_Space (all in the BMP).</summary>
    public static bool IsWhiteSpace(int c) =>
        c is (>= 0x09 and <= 0x0D) or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A) or 0x2028 or 0x2029
            or 0x202F or 0x205F or 0x3000;

    private static bool IsPythonSpace(char c) => IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';
}
