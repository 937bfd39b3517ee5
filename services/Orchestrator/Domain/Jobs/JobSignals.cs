namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// Wakes the watchers of a job when an event is appended. A watcher takes the job's signal before it reads the
/// store, so an event appended between its read and its wait still wakes it: nothing is missed.
/// </summary>
internal sealed class JobSignals
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    public Task Next(string jobId)
    {
        lock (_gate)
        {
            if (!_waiting.TryGetValue(jobId, out var signal))
                _waiting[jobId] = signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return signal.Task;
        }
    }

    public void Notify(string jobId)
    {
        TaskCompletionSource? signal;
        lock (_gate)
        {
            if (!_waiting.Remove(jobId, out signal)) return;
        }
        signal.TrySetResult();
    }
}
