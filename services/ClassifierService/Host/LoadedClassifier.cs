using DiscriminativeTokens.Classification;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// The classifier this process serves, once <see cref="ClassifierLoadingService"/> has loaded it; until then (or after
/// loading failed) <see cref="Pipeline"/> throws <see cref="ClassifierUnavailableException"/> with the reason. Owns and
/// disposes the pipeline.
/// </summary>
public sealed class LoadedClassifier : IDisposable
{
    private readonly Lock _gate = new();
    private ClassifierPipeline? _pipeline;
    private string _reason = "the classifier is still loading; retry when the health service reports SERVING";
    private bool _disposed;

    /// <summary>The loaded pipeline, or <see cref="ClassifierUnavailableException"/> saying why there is none.</summary>
    public ClassifierPipeline Pipeline
    {
        get
        {
            lock (_gate)
                return _pipeline ?? throw new ClassifierUnavailableException(_reason);
        }
    }

    public bool IsLoaded
    {
        get { lock (_gate) return _pipeline is not null; }
    }

    internal void SetLoaded(ClassifierPipeline pipeline)
    {
        lock (_gate)
        {
            if (_disposed || _pipeline is not null)
            {
                pipeline.Dispose();
                return;
            }
            _pipeline = pipeline;
        }
    }

    internal void SetFailed(string reason)
    {
        lock (_gate) _reason = reason;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _reason = "the service is shutting down";
            _pipeline?.Dispose();
            _pipeline = null;
        }
    }
}

/// <summary>No classifier is loaded (still loading, or loading failed); gRPC UNAVAILABLE.</summary>
public sealed class ClassifierUnavailableException(string reason) : Exception(reason);

/// <summary>More calls than the configured limits allow are in flight; gRPC RESOURCE_EXHAUSTED.</summary>
public sealed class ClassifierBusyException(string message) : Exception(message);
