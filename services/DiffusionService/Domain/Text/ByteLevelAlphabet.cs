namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// GPT-2/CLIP's reversible byte-to-character map: printable Latin-1 bytes stand for themselves, the other bytes
/// (controls, space, 0x7F..0xA0, 0xAD) become U+0100 onwards in byte order. Byte-level BPE tokens are spelled in it.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly Dictionary<char, byte> CharToByte = Build();

    public static bool TryGetByte(char c, out byte value) => CharToByte.TryGetValue(c, out value);

    private static Dictionary<char, byte> Build()
    {
        var map = new Dictionary<char, byte>(256);
        int next = 0x100;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[printable ? (char)b : (char)next++] = (byte)b;
        }
        return map;
    }
}
