using DiscriminativeTokens.Diffusion.Text;

namespace DiscriminativeTokens.Diffusion.Tests.Text;

/// <summary>
/// CLIP's text preparation, whitespace_clean(ftfy.fix_text(text)).lower(), and its word splitting, on cases the
/// 13 reference prompts do not cover. Expected strings come from Python 3.11 (str.lower, unicodedata.normalize, the
/// `regex` module with CLIP's pattern) and from ftfy 6.1.1's documented examples and tests.
///
/// Where .NET and Python differ, and what the tokenizer does about it:
/// - Lower-casing: .NET's invariant ToLowerInvariant leaves 'İ' unchanged (Python: "i̇", two code points), never
///   produces the final sigma 'ς', and lower-cases some letters newer than Python 3.11's Unicode 14 (e.g. U+1C89,
///   U+A7CB). Handled: lower-casing uses Python's own table (embedded python-unicode-tables.txt) and its final-sigma rule.
/// - NFC: string.Normalize is a no-op under invariant globalization. Handled: NFC from Python's tables.
/// - Words: .NET's Regex sees the two UTF-16 halves of a supplementary letter or digit as surrogates, not letters.
///   Handled: the word splitter classifies whole code points (by .NET's Unicode 16 categories; a letter that is
///   new in Unicode 15/16 would be "not a letter" for the reference's `regex` module - not handled).
/// - Not ported from ftfy: mojibake repair (fix_encoding), so "cafÃ©" stays "cafã©" where ftfy would make "café".
/// </summary>
public sealed class ClipTextNormalizationTests
{
    private static string Normalize(string text) => ClipTextNormalizer.Instance.Normalize(text);

    [Theory]
    [InlineData("İSTANBUL", "i\u0307stanbul")] // .NET invariant: "İstanbul"
    [InlineData("ΟΔΟΣ ΟΔΟΣ. ΣΑ Σ", "οδος οδος. σα σ")] // final sigma; .NET: "οδοσ οδοσ. σα σ"
    [InlineData("ẞ 𐐀", "ß 𐐨")]
    public void LowerCasesLikePython(string text, string expected) => Assert.Equal(expected, Normalize(text));

    [Theory]
    [InlineData("cafe\u0301 A\u030A \u212B \u1100\u1161\u11A8", "café å å 각")]
    [InlineData("a\u0323\u0302", "\u1EAD")] // marks reordered by combining class, then composed
    public void NormalizesToNfc(string text, string expected) => Assert.Equal(expected, Normalize(text));

    [Theory]
    [InlineData("   a   photo\tof\n a    cat   ", "a photo of a cat")]
    [InlineData("a\u00A0b\u2003c\u3000d\u2029e", "a b c d e")]
    [InlineData("\u001Fa\u000Bb\u007F", "ab")] // control characters are removed by ftfy, not turned into spaces
    public void CleansWhitespace(string text, string expected) => Assert.Equal(expected, Normalize(text));

    [Theory]
    [InlineData("Tom &amp; Jerry", "tom & jerry")]
    [InlineData("&amp;amp;amp;", "&")] // fixed until nothing changes
    [InlineData("&lt;&gt;", "<>")]
    [InlineData("jednocze&sacute;nie", "jednocześnie")] // an HTML5-only entity
    [InlineData("JEDNOCZE&SACUTE;NIE", "jednocześnie")] // all-caps spelling of a lower-case entity
    [InlineData("BUNDESSTRA&SZLIG;E", "bundesstrasse")]
    [InlineData("&ntilde; &Ntilde; &NTILDE; &nTILDE;", "ñ ñ ñ &ntilde;")]
    [InlineData("euro &#x80; &#8364; &#X20AC;", "euro € € €")]
    [InlineData("not an entity &#20x6;", "not an entity &#20x6;")]
    [InlineData("this is just informal english &not html", "this is just informal english &not html")]
    [InlineData("a&#xffff;b &#xffffffff;", "ab \uFFFD")]
    public void UnescapesHtmlLikeFtfy(string text, string expected) => Assert.Equal(expected, Normalize(text));

    [Fact]
    public void StopsUnescapingHtmlFromTheFirstLineWithAnAngleBracket()
    {
        // ftfy's test_entities: fix_text('&amp;\n<html>\n&amp;') == '&\n<html>\n&amp;' (then whitespace_clean).
        Assert.Equal("& <html> &amp;", Normalize("&amp;\n<html>\n&amp;"));
    }

    [Theory]
    [InlineData("ＬＯＵＤ　ＮＯＩＳＥＳ", "loud noises")] // ftfy: fix_character_width
    [InlineData("Ｕﾀｰﾝ", "uターン")]
    [InlineData("ﬂuﬃeﬆ", "fluffiest")] // fix_latin_ligatures
    [InlineData("Ǆ", "dž")]
    [InlineData("\u201Chere\u2019s a test\u201D", "\"here's a test\"")] // uncurl_quotes
    [InlineData("caf\u00E9 \u0093quoted\u0094", "café \"quoted\"")] // C1 controls read as Windows-1252
    [InlineData("\u001B[36;44mblue\u001B[0m", "blue")] // terminal escapes
    public void AppliesFtfyFixes(string text, string expected) => Assert.Equal(expected, Normalize(text));

    [Theory]
    [InlineData("𠀀abc 𝐀𝐁c 𝟏𝟐 x\u0345y it'ſt ó!<|endoftext|>",
                new[] { "𠀀abc", "𝐀𝐁c", "𝟏", "𝟐", "x", "y", "it", "'ſ", "t", "ó", "!<|", "endoftext", "|>" })]
    [InlineData("don't i'm 2023!!! (a)b <|startoftext|>x",
                new[] { "don", "'t", "i", "'m", "2", "0", "2", "3", "!!!", "(", "a", ")", "b", "<|startoftext|>", "x" })]
    public void SplitsWordsLikeClipsPattern(string text, string[] expected)
    {
        string[] words = ClipPreTokenizer.Instance.PreTokenize(text).Select(w => text.Substring(w.Offset, w.Length)).ToArray();
        Assert.Equal(expected, words);
    }
}
