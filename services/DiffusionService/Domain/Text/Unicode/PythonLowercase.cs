using System.Text;

namespace DiscriminativeTokens.Diffusion.Text.Unicode;

/// <summary>
/// Python's str.lower(): full lower-case mapping by Python's Unicode tables, including 'İ' -> "i̇" (two code points)
/// and the final-sigma rule ('Σ' ending a word becomes 'ς'). .NET's invariant lower-casing differs on exactly these
/// and on letters newer than Python's Unicode version.
/// </summary>
internal static class PythonLowercase
{
    private const int CapitalSigma = 0x03A3;

    public static string ToLower(string text)
    {
        PythonUnicodeTables tables = PythonUnicodeTables.Instance;
        int[] codePoints = CodePoints.Of(text);
        var result = new StringBuilder(text.Length);
        for (int i = 0; i < codePoints.Length; i++)
        {
            int cp = codePoints[i];
            if (cp == CapitalSigma)
                result.Append(IsFinalSigma(codePoints, i, tables) ? 'ς' : 'σ');
            else if (tables.LowerCase.TryGetValue(cp, out string? lower))
                result.Append(lower);
            else
                CodePoints.Append(result, cp);
        }
        return result.ToString();
    }

    /// <summary>Σ is final when a cased letter precedes it and none follows it (case-ignorable characters skipped).</summary>
    private static bool IsFinalSigma(int[] codePoints, int index, PythonUnicodeTables tables)
    {
        int before = index - 1;
        while (before >= 0 && tables.IsCaseIgnorable(codePoints[before]))
            before--;
        if (before < 0 || !tables.IsCased(codePoints[before]))
            return false;
        int after = index + 1;
        while (after < codePoints.Length && tables.IsCaseIgnorable(codePoints[after]))
            after++;
        return after == codePoints.Length || !tables.IsCased(codePoints[after]);
    }
}
