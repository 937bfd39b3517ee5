using System.Text;
using System.Text.Json;
using DiscriminativeTokens.Diffusion.Text;
using DiscriminativeTokens.Testing;

namespace DiscriminativeTokens.Diffusion.Tests.Text;

/// <summary>
/// The BPE engine (Microsoft.ML.Tokenizers) against CLIP's own merge loop, on far more words than the reference
/// prompts hold: CLIP repeatedly takes the adjacent pair with the lowest merge rank and merges all its occurrences
/// left to right, with "&lt;/w&gt;" glued to the word's last byte.
/// </summary>
public sealed class ClipBpeMergeOrderTests
{
    private static readonly string Folder = Path.Combine(RepositoryPaths.SdTiny, "tokenizer");

    [Fact]
    public void MatchesClipMergeLoopOnVocabularyWordsAndTheirConcatenations()
    {
        ClipTokenizer tokenizer = ClipTokenizer.FromFolder(Folder);
        var vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(Folder, "vocab.json")))!;
        var ranks = new Dictionary<(string, string), int>();
        foreach (string line in File.ReadAllText(Path.Combine(Folder, "merges.txt")).Trim().Split('\n').Skip(1).Take(48894))
        {
            string[] pair = line.Trim().Split(' ');
            ranks[(pair[0], pair[1])] = ranks.Count;
        }
        var byteChars = ByteToChar();
        var charBytes = byteChars.ToDictionary(kv => kv.Value, kv => kv.Key);

        // Words made only of letters, already normalized, so that each is exactly one BPE word.
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var words = new List<string>();
        foreach (string token in vocabulary.Keys)
        {
            string spelled = token.EndsWith("</w>", StringComparison.Ordinal) ? token[..^4] : token;
            if (spelled.Length == 0 || spelled.Contains('<'))
                continue;
            string word;
            try
            {
                word = strict.GetString(spelled.Select(c => charBytes[c]).ToArray());
            }
            catch (DecoderFallbackException)
            {
                continue;
            }
            if (word.EnumerateRunes().All(Rune.IsLetter) && ClipTextNormalizer.Instance.Normalize(word) == word)
                words.Add(word);
        }
        Assert.True(words.Count > 30000, $"only {words.Count} words");
        var random = new Random(20230330);
        int singles = words.Count;
        for (int i = 0; i < 5000; i++)
            words.Add(words[random.Next(singles)] + words[random.Next(singles)] + words[random.Next(singles)]);

        int mismatches = 0;
        var report = new StringBuilder();
        foreach (string word in words)
        {
            string byteLevel = string.Concat(Encoding.UTF8.GetBytes(word).Select(b => byteChars[b]));
            int[] expected = ClipMergeLoop(byteLevel, ranks).Select(s => vocabulary[s]).ToArray();
            int[] actual = tokenizer.EncodeToIds(word).ToArray();
            if (!expected.SequenceEqual(actual) && mismatches++ < 5)
                report.AppendLine($"'{word}': expected [{string.Join(",", expected)}] actual [{string.Join(",", actual)}]");
        }
        Assert.True(mismatches == 0, $"{mismatches} of {words.Count} words differ:\n{report}");
    }

    private static List<string> ClipMergeLoop(string byteLevelWord, Dictionary<(string, string), int> ranks)
    {
        var symbols = byteLevelWord.Select(c => c.ToString()).ToList();
        symbols[^1] += "</w>";
        while (symbols.Count > 1)
        {
            (string, string)? best = null;
            int bestRank = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (ranks.TryGetValue((symbols[i], symbols[i + 1]), out int rank) && rank < bestRank)
                    (best, bestRank) = ((symbols[i], symbols[i + 1]), rank);
            if (best is not (string first, string second))
                break;
            var merged = new List<string>(symbols.Count);
            for (int i = 0; i < symbols.Count; i++)
            {
                if (i + 1 < symbols.Count && symbols[i] == first && symbols[i + 1] == second)
                {
                    merged.Add(first + second);
                    i++;
                }
                else
                {
                    merged.Add(symbols[i]);
                }
            }
            symbols = merged;
        }
        return symbols;
    }

    /// <summary>GPT-2's byte-to-character alphabet, written out independently of the tokenizer's.</summary>
    private static Dictionary<byte, char> ByteToChar()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1))
                                  .Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToHashSet();
        var map = new Dictionary<byte, char>();
        int extra = 0;
        for (int b = 0; b < 256; b++)
            map[(byte)b] = printable.Contains(b) ? (char)b : (char)(256 + extra++);
        return map;
    }
}
