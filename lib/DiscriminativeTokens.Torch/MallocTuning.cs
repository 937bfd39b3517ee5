using System.Runtime.InteropServices;

namespace DiscriminativeTokens.Torch;

/// <summary>
/// Keeps freed tensor memory in the process while models work. libtorch allocates CPU tensors with glibc's malloc,
/// whose default thresholds adapt at run time and hand memory back to the kernel whenever the top of a heap is free:
/// every denoising step then faults its activations in again. On the training benchmark (sd-tiny, three processes,
/// together with the service hosts' thread-pool setting) the DiffusionService went from ~6,400 to ~2,200 page faults
/// a second, and a micro-step's backward from 166 to 128 ms (112 in process). Fixed thresholds keep blocks up to 32 MiB in the
/// heaps and return memory only beyond 256 MiB free; idle processes still give memory back (the DiffusionService's
/// idle trim calls malloc_trim, which ignores the threshold). Elsewhere than glibc nothing changes.
/// </summary>
public static class MallocTuning
{
    private const int TrimThresholdOption = -1;   // M_TRIM_THRESHOLD
    private const int MmapThresholdOption = -3;   // M_MMAP_THRESHOLD
    private const int MmapThreshold = 32 << 20;   // glibc's largest allowed value on 64-bit
    private const int TrimThreshold = 256 << 20;

    private static readonly Lazy<bool> Applied = new(Apply, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Sets the thresholds once per process. Returns whether glibc accepted them.</summary>
    public static bool KeepFreedMemoryWhileWorking() => Applied.Value;

    private static bool Apply()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return Mallopt(MmapThresholdOption, MmapThreshold) == 1 && Mallopt(TrimThresholdOption, TrimThreshold) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;   // not glibc (e.g. musl): its allocator has no such settings
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int option, int value);
}
