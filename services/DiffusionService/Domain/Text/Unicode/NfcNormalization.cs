namespace DiscriminativeTokens.Diffusion.Text.Unicode;

/// <summary>
/// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical composition) over Python's
/// Unicode tables, as unicodedata.normalize("NFC", ...) does. string.Normalize cannot be used: under invariant
/// globalization it returns non-ASCII text unchanged.
/// </summary>
internal static class NfcNormalization
{
    // Hangul syllables are composed and decomposed arithmetically (Unicode chapter 3.12).
    private const int SyllableBase = 0xAC00, LeadingBase = 0x1100, VowelBase = 0x1161, TrailingBase = 0x11A7;
    private const int LeadingCount = 19, VowelCount = 21, TrailingCount = 28;
    private const int VowelTrailingCount = VowelCount * TrailingCount, SyllableCount = LeadingCount * VowelTrailingCount;

    public static string Normalize(string text)
    {
        if (IsAsciiOnly(text))
            return text;
        PythonUnicodeTables tables = PythonUnicodeTables.Instance;
        var buffer = new List<int>(text.Length);
        foreach (int cp in CodePoints.Of(text))
            Decompose(cp, buffer, tables);
        ReorderCombiningMarks(buffer, tables);
        Compose(buffer, tables);
        return CodePoints.ToText(buffer);
    }

    private static bool IsAsciiOnly(string text)
    {
        foreach (char c in text)
            if (c >= 0x80)
                return false;
        return true;
    }

    private static void Decompose(int cp, List<int> output, PythonUnicodeTables tables)
    {
        int s = cp - SyllableBase;
        if (s >= 0 && s < SyllableCount)
        {
            output.Add(LeadingBase + s / VowelTrailingCount);
            output.Add(VowelBase + s % VowelTrailingCount / TrailingCount);
            if (s % TrailingCount != 0)
                output.Add(TrailingBase + s % TrailingCount);
            return;
        }
        if (tables.CanonicalDecomposition.TryGetValue(cp, out int[]? parts))
        {
            foreach (int part in parts)
                Decompose(part, output, tables);
            return;
        }
        output.Add(cp);
    }

    /// <summary>Stable sort of each run of non-starters by combining class.</summary>
    private static void ReorderCombiningMarks(List<int> buffer, PythonUnicodeTables tables)
    {
        for (int i = 1; i < buffer.Count; i++)
        {
            int cp = buffer[i];
            byte ccc = tables.CombiningClassOf(cp);
            if (ccc == 0)
                continue;
            int j = i;
            while (j > 0 && tables.CombiningClassOf(buffer[j - 1]) > ccc)
            {
                buffer[j] = buffer[j - 1];
                j--;
            }
            buffer[j] = cp;
        }
    }

    private static void Compose(List<int> buffer, PythonUnicodeTables tables)
    {
        if (buffer.Count == 0)
            return;
        int starterIndex = 0;
        int starter = buffer[0];
        // A leading non-starter blocks everything after it from composing with nothing before it.
        int lastClass = tables.CombiningClassOf(starter) == 0 ? 0 : 256;
        int written = 1;
        for (int i = 1; i < buffer.Count; i++)
        {
            int cp = buffer[i];
            int ccc = tables.CombiningClassOf(cp);
            int composite = ComposePair(starter, cp, tables);
            if (composite >= 0 && (lastClass < ccc || lastClass == 0))
            {
                buffer[starterIndex] = composite;
                starter = composite;
                continue;
            }
            if (ccc == 0)
            {
                starterIndex = written;
                starter = cp;
            }
            lastClass = ccc;
            buffer[written++] = cp;
        }
        buffer.RemoveRange(written, buffer.Count - written);
    }

    private static int ComposePair(int first, int second, PythonUnicodeTables tables)
    {
        int l = first - LeadingBase, v = second - VowelBase;
        if (l >= 0 && l < LeadingCount && v >= 0 && v < VowelCount)
            return SyllableBase + (l * VowelCount + v) * TrailingCount;
        int s = first - SyllableBase, t = second - TrailingBase;
        if (s >= 0 && s < SyllableCount && s % TrailingCount == 0 && t > 0 && t < TrailingCount)
            return first + t;
        return tables.Composition.TryGetValue((first, second), out int composite) ? composite : -1;
    }
}
