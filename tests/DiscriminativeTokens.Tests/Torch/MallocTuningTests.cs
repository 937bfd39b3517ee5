using System.Runtime.InteropServices;
using DiscriminativeTokens.Torch;

namespace DiscriminativeTokens.Tests.Torch;

public sealed class MallocTuningTests
{
    [Fact]
    public void glibc_accepts_the_thresholds_and_other_allocators_are_left_alone()
    {
        bool glibc = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc)
                     && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _);
        Assert.Equal(glibc, MallocTuning.KeepFreedMemoryWhileWorking());
        Assert.Equal(glibc, MallocTuning.KeepFreedMemoryWhileWorking());   // once per process, same answer
    }
}
