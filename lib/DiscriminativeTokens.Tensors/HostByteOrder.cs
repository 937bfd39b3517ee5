namespace DiscriminativeTokens.Tensors;

/// <summary>The wire format is little-endian and the codec copies bytes verbatim, so it only runs on little-endian hosts.</summary>
internal static class HostByteOrder
{
    public static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new NotSupportedException(
                "The tensor codec copies raw little-endian bytes and needs a little-endian host; this host is big-endian.");
        }
    }
}
