using System.Text;
using System.Text.RegularExpressions;
using DiscriminativeTokens.Diffusion.Text.Unicode;

namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// ftfy.fix_text (6.1.1, default configuration) as transformers' CLIPTokenizer applies it, minus mojibake repair:
/// text is fixed line by line; each line repeats HTML unescaping, C1-control, ligature, character-width, curly-quote,
/// line-break, surrogate, terminal-escape and control-character fixes and NFC normalization until nothing changes.
/// HTML unescaping is switched off from the first line that contains '&lt;' on ("auto": it looks like real HTML).
/// Not ported: fix_encoding (re-decoding mojibake such as "cafÃ©" -> "café"), so such text tokenizes as written.
/// </summary>
internal static partial class FtfyTextFixer
{
    private static readonly Dictionary<char, string> Ligatures = new()
    {
        ['\u0132'] = "IJ", ['\u0133'] = "ij", ['\u0149'] = "\u02BCn",
        ['\u01F1'] = "DZ", ['\u01F2'] = "Dz", ['\u01F3'] = "dz",
        ['\u01C4'] = "D\u017D", ['\u01C5'] = "D\u017E", ['\u01C6'] = "d\u017E",
        ['\u01C7'] = "LJ", ['\u01C8'] = "Lj", ['\u01C9'] = "lj",
        ['\u01CA'] = "NJ", ['\u01CB'] = "Nj", ['\u01CC'] = "nj",
        ['\uFB00'] = "ff", ['\uFB01'] = "fi", ['\uFB02'] = "fl", ['\uFB03'] = "ffi", ['\uFB04'] = "ffl",
        ['\uFB05'] = "\u017Ft", ['\uFB06'] = "st",
    };

    [GeneratedRegex(@"\x1B\[(?:\d|;)*[a-zA-Z]")]
    private static partial Regex AnsiEscape();

    public static string FixText(string text)
    {
        var output = new StringBuilder(text.Length);
        bool unescapeHtml = true;
        for (int start = 0; start < text.Length;)
        {
            int newline = text.IndexOf('\n', start);
            int end = newline < 0 ? text.Length : newline + 1;
            string line = text[start..end];
            if (line.Contains('<'))
                unescapeHtml = false;
            output.Append(FixLine(line, unescapeHtml));
            start = end;
        }
        return output.ToString();
    }

    private static string FixLine(string text, bool unescapeHtml)
    {
        while (true)
        {
            string original = text;
            if (unescapeHtml)
                text = HtmlEntityUnescaper.Unescape(text);
            text = FixC1Controls(text);
            text = Map(text, c => Ligatures.GetValueOrDefault(c));
            text = Map(text, c => PythonUnicodeTables.Instance.WidthReplacement.GetValueOrDefault(c));
            text = UncurlQuotes(text);
            text = FixLineBreaks(text);
            text = ReplaceUnpairedSurrogates(text);
            text = AnsiEscape().Replace(text, "");
            text = RemoveControlCharacters(text);
            text = NfcNormalization.Normalize(text);
            if (text == original)
                return text;
        }
    }

    private static string FixC1Controls(string text) =>
        Map(text, c => Windows1252.TryDecodeC1(c, out char decoded) ? decoded.ToString() : null);

    private static string UncurlQuotes(string text) => Map(text, c => c switch
    {
        '\u02BC' or (>= '\u2018' and <= '\u201B') => "'",
        >= '\u201C' and <= '\u201F' => "\"",
        _ => null,
    });

    private static string FixLineBreaks(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Replace('\u2028', '\n')
            .Replace('\u2029', '\n').Replace('\u0085', '\n');

    private static string ReplaceUnpairedSurrogates(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                builder.Append(c).Append(text[++i]);
            else
                builder.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return builder.ToString();
    }

    /// <summary>Invisible controls ftfy deletes; tab, newlines, form feed, C1 controls and joiners are kept.</summary>
    private static string RemoveControlCharacters(string text) => Map(text, c =>
        c is <= '\u0008' or '\u000B' or (>= '\u000E' and <= '\u001F') or '\u007F' or (>= '\u206A' and <= '\u206F')
            or '\uFEFF' or (>= '\uFFF9' and <= '\uFFFC')
            ? ""
            : null);

    /// <summary>Replaces each UTF-16 unit the mapping returns a value for; none of the maps here touch surrogates.</summary>
    private static string Map(string text, Func<char, string?> replacement)
    {
        StringBuilder? builder = null;
        for (int i = 0; i < text.Length; i++)
        {
            string? replaced = replacement(text[i]);
            if (replaced is null)
            {
                builder?.Append(text[i]);
                continue;
            }
            builder ??= new StringBuilder(text.Length).Append(text, 0, i);
            builder.Append(replaced);
        }
        return builder?.ToString() ?? text;
    }
}
