namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// Cuts the raw text (before any normalization, case-sensitively) at the special and added token strings, as
/// transformers' slow tokenizers do with their trie: at the leftmost position where a token starts, the longest one
/// wins. A token is found anywhere, even inside a word ("xnewclasx" -> "x", "newclas", "x").
/// </summary>
internal sealed class NoSplitTokenMatcher
{
    private readonly string[] _tokens;

    public NoSplitTokenMatcher(IEnumerable<string> tokens)
    {
        _tokens = tokens.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal)
                        .OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The pieces of <paramref name="text"/> in order; IsToken marks an exact token string.</summary>
    public IEnumerable<(string Piece, bool IsToken)> Split(string text)
    {
        int pieceStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            string? match = MatchAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }
            if (i > pieceStart)
                yield return (text[pieceStart..i], false);
            yield return (match, true);
            i += match.Length;
            pieceStart = i;
        }
        if (pieceStart < text.Length)
            yield return (text[pieceStart..], false);
    }

    private string? MatchAt(string text, int index)
    {
        foreach (string token in _tokens) // longest first
            if (text.AsSpan(index).StartsWith(token, StringComparison.Ordinal))
                return token;
        return null;
    }
}
