using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// Splits normalized text into the words CLIP's BPE sees, as transformers' case-insensitive `regex` pattern
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c> does:
/// at each position the first alternative that matches wins, and whitespace separates words without being part of one.
/// Written as a scanner over code points rather than a .NET Regex because .NET classifies the UTF-16 halves of a
/// supplementary character (e.g. '𠀀', '𝐀', '𝟏') as surrogates, not letters or digits, which splits words differently.
/// </summary>
public sealed class ClipPreTokenizer : PreTokenizer
{
    private static readonly string[] SpecialWords = ["<|startoftext|>", "<|endoftext|>"];

    public static ClipPreTokenizer Instance { get; } = new();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    private static List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var words = new List<(int, int)>();
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            CharacterClass first = Classify(text, i, out int width);
            if (first is CharacterClass.Separator)
            {
                i += width;
                continue;
            }
            int special = MatchSpecialWord(text[i..]);
            if (special > 0)
            {
                words.Add((start, special));
                i += special;
                continue;
            }
            int contraction = MatchContraction(text[i..]);
            if (contraction > 0)
            {
                words.Add((start, contraction));
                i += contraction;
                continue;
            }
            i += width;
            if (first is CharacterClass.Number)
            {
                words.Add((start, width)); // one digit per word
                continue;
            }
            while (i < text.Length && Classify(text, i, out int w) == first)
                i += w;
            words.Add((start, i - start));
        }
        return words;
    }

    private static int MatchSpecialWord(ReadOnlySpan<char> text)
    {
        foreach (string special in SpecialWords)
            if (text.StartsWith(special, StringComparison.OrdinalIgnoreCase))
                return special.Length;
        return 0;
    }

    /// <summary>'s 't 're 've 'm 'll 'd, case-insensitively; 'ſ' (long s) case-folds to 's' and matches too.</summary>
    private static int MatchContraction(ReadOnlySpan<char> text)
    {
        if (text.Length < 2 || text[0] != '\'')
            return 0;
        char a = char.ToLowerInvariant(text[1]);
        if (a is 's' or 't' or 'm' or 'd' or 'ſ')
            return 2;
        if (text.Length >= 3)
        {
            char b = char.ToLowerInvariant(text[2]);
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
                return 3;
        }
        return 0;
    }

    private enum CharacterClass { Separator, Letter, Number, Other }

    private static CharacterClass Classify(ReadOnlySpan<char> text, int index, out int width)
    {
        if (Rune.DecodeFromUtf16(text[index..], out Rune rune, out width) != System.Buffers.OperationStatus.Done)
        {
            width = 1;
            return CharacterClass.Other; // an unpaired surrogate
        }
        // U+0345 (combining ypogegrammeni) case-folds to 'ι': under IGNORECASE it is neither "not a letter" nor a
        // letter, so no alternative matches it and, like whitespace, it only separates words.
        if (WhitespaceClean.IsWhiteSpace(rune.Value) || rune.Value == 0x0345)
            return CharacterClass.Separator;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharacterClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
                => CharacterClass.Number,
            _ => CharacterClass.Other,
        };
    }
}
