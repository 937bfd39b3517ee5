namespace DiscriminativeTokens.Orchestration.Backends;

/// <summary>
/// A diffusion model as the orchestrator uses it: model facts, token lookups, plain generation and gradient sessions.
/// Implemented in process (over the diffusion domain) and over gRPC. Failures are <see cref="BackendException"/>.
/// </summary>
public interface IDiffusionBackend
{
    /// <summary>Endpoint name or "in-process"; shown in events and errors.</summary>
    string Name { get; }

    /// <summary>Address it talks to ("in-process" for the local implementation).</summary>
    string Address { get; }

    Task<DiffusionModelInfo> GetModelInfoAsync(CancellationToken cancellationToken);

    /// <summary>The input embedding of <paramref name="word"/>, which must be exactly one token of the vocabulary
    /// (otherwise <see cref="BackendFailure.InvalidRequest"/>). Used to initialize the learned token.</summary>
    Task<float[]> GetTokenEmbeddingAsync(string word, CancellationToken cancellationToken);

    /// <summary>Opens a gradient session; dispose it to free everything it holds on the service.</summary>
    Task<IDiffusionGradientSession> OpenGradientSessionAsync(GradientSessionOptions options, CancellationToken cancellationToken);

    /// <summary>Generates one image per call: [1, 3, H, W] in [0, 1], optionally with a learned token.</summary>
    Task<TensorData> GenerateAsync(SamplingSettings sampling, LearnedTokenVector? token, CancellationToken cancellationToken);
}

/// <summary>
/// One gradient session. Forward and backward of different forward ids may run concurrently (the loop overlaps the
/// next forward with the current backward); each forward gets at most one backward.
/// </summary>
public interface IDiffusionGradientSession : IAsyncDisposable
{
    Task<ForwardResult> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken);

    /// <summary>Backpropagates dLoss/dImage (the image's shape) and returns dLoss/dToken; frees the forward.</summary>
    Task<TokenGradientResult> BackwardAsync(ulong forwardId, TensorData imageGradient, CancellationToken cancellationToken);

    /// <summary>Frees a forward without a backward (e.g. a prefetched forward no longer needed).</summary>
    Task ReleaseAsync(ulong forwardId, CancellationToken cancellationToken);
}
