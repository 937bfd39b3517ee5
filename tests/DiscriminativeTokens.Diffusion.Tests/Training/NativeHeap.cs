using System.Runtime.InteropServices;

namespace DiscriminativeTokens.Diffusion.Tests.Training;

/// <summary>
/// Bytes the C heap has handed out and not taken back (glibc mallinfo2: uordblks + hblkhd, summed over all arenas).
/// libtorch's CPU tensors and autograd graphs live there, so the difference across a call is what it retains.
/// </summary>
internal static class NativeHeap
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 Query();

    /// <summary>Null where glibc's mallinfo2 is unavailable (not Linux/glibc ≥ 2.33).</summary>
    public static long? InUseBytes()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var info = Query();
            return (long)(info.UordBlks + info.HBlkHd);
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }
}

/// <summary>
/// Tests that measure <see cref="NativeHeap"/>: the C heap is process-wide, so they run alone, after the parallel
/// tests, or other test classes' allocations would count as theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeHeapMeasurements
{
    public const string Name = "native heap measurements";
}
