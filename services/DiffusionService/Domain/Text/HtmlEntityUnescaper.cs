using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using DiscriminativeTokens.Diffusion.Text.Unicode;

namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// ftfy's unescape_html: replaces complete entities "&amp;name;" of HTML5 (and all-caps spellings of lower-case ones,
/// "&amp;EACUTE;" -> "É") and character references "&amp;#65;" / "&amp;#x41;"; anything else, like "this&amp;not that"
/// without a semicolon, is left alone.
/// </summary>
internal static partial class HtmlEntityUnescaper
{
    [GeneratedRegex("&#?[0-9A-Za-z]{1,24};")]
    private static partial Regex EntityPattern();

    public static string Unescape(string text) =>
        text.Contains('&') ? EntityPattern().Replace(text, m => Replace(m.Value)) : text;

    private static string Replace(string entity)
    {
        if (entity[1] == '#')
            return DecodeCharacterReference(entity) ?? entity;
        return PythonUnicodeTables.Instance.HtmlEntities.TryGetValue(entity[1..], out string? decoded) ? decoded : entity;
    }

    /// <summary>"&amp;#...;" as Python's html.unescape decodes it; null when ftfy would leave the text alone.</summary>
    private static string? DecodeCharacterReference(string entity)
    {
        ReadOnlySpan<char> body = entity.AsSpan(2, entity.Length - 3);
        bool hex = body.Length > 1 && (body[0] == 'x' || body[0] == 'X');
        ReadOnlySpan<char> digits = hex ? body[1..] : body;
        foreach (char c in digits)
            if (hex ? !char.IsAsciiHexDigit(c) : !char.IsAsciiDigit(c))
                return null; // html.unescape would decode only a prefix and keep the ';': ftfy keeps the original
        BigInteger value = BigInteger.Parse("0" + digits.ToString(), hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None,
                                            CultureInfo.InvariantCulture);
        if (value > 0x10FFFF)
            return "\uFFFD";
        int cp = (int)value;
        if (Windows1252.TryDecodeC1(cp, out char c1))
            return c1.ToString();
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
            return "\uFFFD";
        if (cp == 0x0D)
            return "\r";
        if (IsForbiddenCharacterReference(cp))
            return "";
        return char.ConvertFromUtf32(cp);
    }

    /// <summary>Controls and noncharacters that HTML's character-reference rules drop.</summary>
    private static bool IsForbiddenCharacterReference(int cp) =>
        (cp >= 0x01 && cp <= 0x08) || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) || (cp >= 0x7F && cp <= 0x9F)
        || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}
