using System.Runtime.InteropServices;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>
/// Gives freed native memory back to the operating system once the service has been idle for a while. LibTorch's CPU
/// tensors come from glibc malloc, which keeps most freed blocks (a kept autograd graph of Stable Diffusion is
/// gigabytes) in its arenas: the process would hold its peak memory forever. Trimming after every operation would
/// make the next one fault all of it back in, so this waits until no computation has run for
/// <c>Diffusion:TrimHeapWhenIdle</c> and then calls malloc_trim. No effect where glibc is absent.
/// </summary>
internal static class IdleHeapTrim
{
    private static readonly Lock Gate = new();
    private static readonly Timer Timer = new(_ => TrimIfIdle());
    private static int s_active;
    private static TimeSpan s_delay = TimeSpan.FromSeconds(5);
    private static bool s_unavailable;

    /// <summary>Idle time before trimming; zero or negative turns trimming off.</summary>
    public static void Configure(TimeSpan delay)
    {
        lock (Gate) s_delay = delay;
    }

    /// <summary>Marks a computation as running until the returned scope is disposed.</summary>
    public static IDisposable Working()
    {
        lock (Gate)
        {
            s_active++;
            Timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        return new Scope();
    }

    private static void Done()
    {
        lock (Gate)
        {
            if (--s_active == 0 && s_delay > TimeSpan.Zero && !s_unavailable)
                Timer.Change(s_delay, Timeout.InfiniteTimeSpan);
        }
    }

    private static void TrimIfIdle()
    {
        lock (Gate)
            if (s_active > 0) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            lock (Gate) s_unavailable = true;
        }
    }

    private sealed class Scope : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Done();
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
