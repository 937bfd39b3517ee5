using System.Globalization;
using System.Runtime.InteropServices;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// Resident memory of a process from /proc (Linux): current RSS (VmRSS) and its high-water mark (VmHWM), which
/// writing 5 to /proc/PID/clear_refs resets, so a phase's own peak can be read. And the C heap in use of this
/// process (glibc mallinfo2), where LibTorch's CPU tensors live.
/// </summary>
internal static class ProcessMemory
{
    public static long RssBytes(int pid) => Status(pid, "VmRSS:");

    public static long PeakRssBytes(int pid) => Status(pid, "VmHWM:");

    /// <summary>Resets the peak to the current RSS; false where the kernel does not allow it.</summary>
    public static bool ResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Bytes the C allocator has handed out and not taken back (all arenas plus mmapped blocks), or null
    /// when glibc's mallinfo2 is not available.</summary>
    public static long? NativeHeapInUse()
    {
        try
        {
            var info = MallInfo2();
            return (long)(info.Uordblks + info.Hblkhd);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Returns freed C heap memory to the operating system (glibc malloc_trim), so a later phase starts lean.</summary>
    public static void Trim()
    {
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
        }
    }

    public static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0", CultureInfo.InvariantCulture);

    private static long Status(int pid, string key)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"/proc/{pid}/status has no {key}");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2Result
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2Result MallInfo2();
}
