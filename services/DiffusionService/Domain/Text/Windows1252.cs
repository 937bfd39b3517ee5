namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// The Windows-1252 characters of bytes 0x80..0x9F. ftfy (like browsers) reads stray C1 control characters as these;
/// the five bytes Windows-1252 leaves undefined stay as they are ("sloppy" decoding).
/// </summary>
internal static class Windows1252
{
    private static readonly char[] C1 =
    [
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
        '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
        '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
    ];

    public static bool TryDecodeC1(int codePoint, out char decoded)
    {
        if (codePoint >= 0x80 && codePoint <= 0x9F)
        {
            decoded = C1[codePoint - 0x80];
            return true;
        }
        decoded = default;
        return false;
    }
}
