using System.Runtime.CompilerServices;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Google.Protobuf.WellKnownTypes;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// The job system: creates jobs (QUEUED with a JobQueued event, returning at once), runs at most
/// <see cref="JobManagerOptions.MaxConcurrentJobs"/> of them in creation order, streams their events to watchers
/// (stored ones first, then live ones, without gaps or duplicates) and cancels them. Jobs a previous process left
/// queued or running are queued again by <see cref="Start"/>; disposing the manager stops running jobs without
/// ending them, so the next process resumes them.
/// </summary>
public sealed class JobManager : IAsyncDisposable
{
    private readonly JobStore _store;
    private readonly IJobExecutor _executor;
    private readonly JobManagerOptions _options;
    private readonly TimeProvider _time;
    private readonly JobSignals _signals = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Lock _gate = new();
    private readonly List<string> _pending = [];
    private readonly Dictionary<string, RunningJob> _running = new(StringComparer.Ordinal);
    private bool _started;
    private bool _disposed;

    public JobManager(JobStore store, IJobExecutor executor, JobManagerOptions options, TimeProvider? time = null)
    {
        if (options.MaxConcurrentJobs < 1)
            throw new ArgumentException($"MaxConcurrentJobs must be at least 1, not {options.MaxConcurrentJobs}.");
        _store = store;
        _executor = executor;
        _options = options;
        _time = time ?? TimeProvider.System;
    }

    public JobManagerOptions Options => _options;

    /// <summary>Queues every job a previous process left queued or running (in creation order) and starts running jobs.</summary>
    public int Start()
    {
        int recovered;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started) return 0;
            _pending.Clear();
            foreach (var job in _store.ListUnfinished())
            {
                if (job.State == JobState.Running)
                    _store.Update(job.JobId, j => j.State = JobState.Queued);
                _pending.Add(job.JobId);
            }
            recovered = _pending.Count;
            _started = true;
        }
        Pump();
        return recovered;
    }

    /// <summary>Creates a training job from a validated config (defaults filled in) and queues it.</summary>
    public Job StartTraining(TrainingConfig config, string displayName) =>
        Create(new Job { Kind = JobKind.Training, Training = config.Clone() }, displayName);

    /// <summary>Creates an evaluation job from a validated config and queues it.</summary>
    public Job StartEvaluation(EvaluationConfig config, string displayName) =>
        Create(new Job { Kind = JobKind.Evaluation, Evaluation = config.Clone() }, displayName);

    private Job Create(Job job, string displayName)
    {
        job.JobId = Guid.NewGuid().ToString("N");
        job.State = JobState.Queued;
        job.DisplayName = displayName ?? "";
        job.CreatedAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
        job.ArtifactsDir = _options.ArtifactsDirectory(job.JobId);
        Job created;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var queued = new JobEvent { Queued = new JobQueued { Position = _pending.Count + _running.Count } };
            (created, _) = _store.Create(job, queued, _time.GetUtcNow());
            _pending.Add(job.JobId);
        }
        Pump();
        return created;
    }

    public Job Get(string jobId) => _store.Get(jobId) ?? throw JobRequestException.NotFound(jobId);

    public JobPage List(IReadOnlyCollection<JobState> states, int pageSize, string? pageToken) =>
        _store.List(states, pageSize, pageToken);

    /// <summary>
    /// Cancels a job: a queued one at once (JobCancelled, CANCELLED); a running one is signalled and ends with
    /// JobCancelled as soon as it notices. An ended job is returned unchanged.
    /// </summary>
    public Job Cancel(string jobId)
    {
        lock (_gate)
        {
            var job = Get(jobId);
            if (IsEnded(job.State)) return job;
            if (_running.TryGetValue(jobId, out var running))
            {
                running.RequestCancel();
                return job;
            }
            _pending.Remove(jobId);
            return AppendEvent(jobId, new JobEvent { Cancelled = new JobCancelled() }, j =>
            {
                j.State = JobState.Cancelled;
                j.EndedAt = Now();
            }).Job;
        }
    }

    /// <summary>
    /// A job's events after <paramref name="afterSequence"/>: the stored ones, then live ones as they happen, ending
    /// after the job's terminal event (finished, failed or cancelled). NOT_FOUND for an unknown job, at once.
    /// </summary>
    public IAsyncEnumerable<JobEvent> Watch(string jobId, ulong afterSequence, CancellationToken cancellationToken)
    {
        Get(jobId);
        return WatchCore(jobId, afterSequence, cancellationToken);
    }

    private async IAsyncEnumerable<JobEvent> WatchCore(string jobId, ulong afterSequence,
                                                       [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        ulong last = afterSequence;
        while (true)
        {
            Task changed = _signals.Next(jobId);
            var events = _store.ReadEvents(jobId, last);
            foreach (var e in events)
            {
                yield return e;
                last = e.Sequence;
                if (IsTerminal(e)) yield break;
            }
            if (events.Count > 0) continue;
            var job = Get(jobId);
            if (IsEnded(job.State) && job.LastSequence <= last) yield break;
            await changed.WaitAsync(linked.Token).ConfigureAwait(false);
        }
    }

    public static bool IsEnded(JobState state) =>
        state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    public static bool IsTerminal(JobEvent e) =>
        e.EventCase is JobEvent.EventOneofCase.Finished or JobEvent.EventOneofCase.Failed or JobEvent.EventOneofCase.Cancelled;

    private (Job Job, JobEvent Event) AppendEvent(string jobId, JobEvent payload, Action<Job>? update)
    {
        var result = _store.Append(jobId, payload, _time.GetUtcNow(), update);
        _signals.Notify(jobId);
        return result;
    }

    private Timestamp Now() => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    private void Pump()
    {
        lock (_gate)
        {
            if (!_started || _disposed) return;
            while (_running.Count < _options.MaxConcurrentJobs && _pending.Count > 0)
            {
                string jobId = _pending[0];
                _pending.RemoveAt(0);
                var running = new RunningJob(jobId, _shutdown.Token);
                _running[jobId] = running;
                running.Task = Task.Run(() => RunAsync(running));
            }
        }
    }

    private async Task RunAsync(RunningJob running)
    {
        string jobId = running.JobId;
        try
        {
            var job = _store.Update(jobId, j =>
            {
                j.State = JobState.Running;
                j.StartedAt = Now();
            });
            string artifacts = _options.ArtifactsDirectory(jobId);
            Directory.CreateDirectory(artifacts);
            var run = new JobRun(job, artifacts, (payload, update) => AppendEvent(jobId, payload, update).Event);
            var finished = await _executor.RunAsync(run, running.Token).ConfigureAwait(false);
            AppendEvent(jobId, new JobEvent { Finished = finished }, j =>
            {
                j.State = JobState.Succeeded;
                j.EndedAt = Now();
                if (j.Kind == JobKind.Training)
                {
                    j.EpochsCompleted = finished.Epochs;
                    j.BestLoss = finished.BestLoss;
                    j.LastAccuracy = finished.FinalAccuracy;
                }
            });
        }
        catch (Exception) when (running.CancelRequested)
        {
            // Whatever the executor threw once asked to stop, the job was cancelled.
            AppendEvent(jobId, new JobEvent { Cancelled = new JobCancelled() }, j =>
            {
                j.State = JobState.Cancelled;
                j.EndedAt = Now();
            });
        }
        catch (Exception) when (_shutdown.IsCancellationRequested)
        {
            // Stopped by shutdown: the job stays RUNNING in the store and resumes when the next process starts.
        }
        catch (Exception error)
        {
            var status = JobFailures.ToStatus(error);
            AppendEvent(jobId, new JobEvent { Failed = new JobFailed { Status = status } }, j =>
            {
                j.State = JobState.Failed;
                j.EndedAt = Now();
                j.Error = status;
            });
        }
        finally
        {
            lock (_gate) _running.Remove(jobId);
            running.Dispose();
            Pump();
        }
    }

    /// <summary>Stops running jobs without ending them (they resume with the next process) and wakes watchers.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] tasks;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _pending.Clear();
            tasks = _running.Values.Select(r => r.Task).ToArray();
        }
        await _shutdown.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch
        {
            // RunAsync handles its own errors; nothing more to report at shutdown.
        }
        // _shutdown stays undisposed: late watchers still link to it and end at once.
    }

    private sealed class RunningJob(string jobId, CancellationToken shutdown) : IDisposable
    {
        private readonly CancellationTokenSource _cancel = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        private volatile bool _cancelRequested;

        public string JobId { get; } = jobId;
        public Task Task { get; set; } = Task.CompletedTask;
        public CancellationToken Token => _cancel.Token;
        public bool CancelRequested => _cancelRequested;

        public void RequestCancel()
        {
            _cancelRequested = true;
            try { _cancel.Cancel(); }
            catch (ObjectDisposedException) { }
        }

        public void Dispose() => _cancel.Dispose();
    }
}
