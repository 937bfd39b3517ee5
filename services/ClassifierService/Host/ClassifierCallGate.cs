using Microsoft.Extensions.Options;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// Bounds the calls in flight: at most <see cref="ClassifierOptions.MaxConcurrentCalls"/> run the model at once, at
/// most <see cref="ClassifierOptions.MaxQueuedCalls"/> more may be receiving their images or waiting for the model,
/// and a call beyond both is refused at once (<see cref="ClassifierBusyException"/>) instead of piling up memory.
/// </summary>
public sealed class ClassifierCallGate : IDisposable
{
    private readonly SemaphoreSlim _model;
    private readonly int _maxConcurrent;
    private readonly int _maxAdmitted;
    private int _admitted;

    public ClassifierCallGate(IOptions<ClassifierOptions> options)
    {
        _maxConcurrent = Math.Max(1, options.Value.MaxConcurrentCalls);
        _maxAdmitted = _maxConcurrent + Math.Max(0, options.Value.MaxQueuedCalls);
        _model = new SemaphoreSlim(_maxConcurrent, _maxConcurrent);
    }

    /// <summary>Calls admitted and not yet finished.</summary>
    public int InFlight => Volatile.Read(ref _admitted);

    /// <summary>Admits a call or throws <see cref="ClassifierBusyException"/>; dispose the admission when the call ends.</summary>
    public Admission Admit()
    {
        if (Interlocked.Increment(ref _admitted) > _maxAdmitted)
        {
            Interlocked.Decrement(ref _admitted);
            throw new ClassifierBusyException(
                $"The classifier service is busy: {_maxAdmitted} calls are in flight ({_maxConcurrent} may run at once, " +
                $"{_maxAdmitted - _maxConcurrent} may wait). Retry after a short delay, or raise Classifier:MaxQueuedCalls.");
        }
        return new Admission(this);
    }

    public void Dispose() => _model.Dispose();

    /// <summary>One admitted call; <see cref="WaitForModelAsync"/> takes its turn on the model.</summary>
    public sealed class Admission(ClassifierCallGate gate) : IDisposable
    {
        private bool _holdsModel;
        private bool _disposed;

        public async Task WaitForModelAsync(CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_holdsModel) return;
            await gate._model.WaitAsync(cancellationToken).ConfigureAwait(false);
            _holdsModel = true;
        }

        /// <summary>Gives the model to the next call (e.g. before streaming a result to a slow client).</summary>
        public void ReleaseModel()
        {
            if (!_holdsModel) return;
            _holdsModel = false;
            gate._model.Release();
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_holdsModel) gate._model.Release();
            Interlocked.Decrement(ref gate._admitted);
        }
    }
}
