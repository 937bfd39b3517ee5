namespace DiscriminativeTokens.Orchestration.Backends;

/// <summary>How a downstream failure should be handled.</summary>
public enum BackendFailure
{
    /// <summary>The service is down, restarting, overloaded or the call timed out: retry the micro-step later.</summary>
    Transient,
    /// <summary>The request itself is wrong (bad prompt, shape, class): retrying cannot help.</summary>
    InvalidRequest,
    /// <summary>The service is up but cannot serve this (unknown class, placeholder already a word, wrong state).</summary>
    Precondition,
    /// <summary>A bug or an unexpected error on the other side.</summary>
    Internal,
}

/// <summary>
/// A diffusion or classifier backend call failed. Every backend, remote or in process, reports failures as this, so
/// the loop decides about retries without knowing the transport.
/// </summary>
public sealed class BackendException(string service, BackendFailure failure, string message, Exception? inner = null)
    : Exception($"{service}: {message}", inner)
{
    /// <summary>"diffusion" or "classifier" (or an endpoint name).</summary>
    public string Service { get; } = service;
    public BackendFailure Failure { get; } = failure;
    public string Detail { get; } = message;
    public bool IsTransient => Failure == BackendFailure.Transient;
}
