namespace DiscriminativeTokens.DiffusionService;

/// <summary>
/// Model work runs on a thread of its own: it takes seconds to minutes of CPU, and TorchSharp's dispose scopes and
/// autograd mode are per thread, so a computation must not hop threads half-way.
/// </summary>
internal static class Compute
{
    public static Task<T> Run<T>(Func<T> work) =>
        Task.Factory.StartNew(() =>
        {
            using var working = IdleHeapTrim.Working();
            return work();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public static Task Run(Action work) =>
        Run(() =>
        {
            work();
            return true;
        });
}
