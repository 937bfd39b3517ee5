using System.Runtime;

namespace DiscriminativeTokens.Torch;

/// <summary>
/// Runs a short piece of TorchSharp work that makes temporary Scalars inside TorchSharp itself, where product code
/// cannot route them through <see cref="Scalars"/> (TorchSharp's optimizers do). No garbage collection runs meanwhile,
/// so no finalizer can free such a Scalar while libtorch reads it. Regions are process-wide, so callers take turns.
/// </summary>
public static class NoCollection
{
    // What every thread of the process may allocate before the runtime collects anyway; far more than a few tensor
    // operations on one vector need, and within what the runtime accepts.
    private const long AllocationBudget = 16L * 1024 * 1024;
    private static readonly Lock Gate = new();

    /// <summary>Runs <paramref name="work"/> with garbage collection held off where the runtime allows it.</summary>
    public static void Run(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (Gate)
        {
            bool started = GC.TryStartNoGCRegion(AllocationBudget);
            try
            {
                work();
            }
            finally
            {
                // The region ends by itself when the budget is exceeded; ending it then would throw.
                if (started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
            }
        }
    }
}
