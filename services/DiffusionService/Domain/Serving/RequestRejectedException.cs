namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>Why a request was refused; the service maps each kind to the gRPC status code of the same name.</summary>
public enum RejectionKind
{
    /// <summary>The request itself is wrong (a value out of range, a malformed tensor, ...).</summary>
    InvalidArgument,

    /// <summary>The request is well formed but the state does not allow it (no model, unknown forward id, ...).</summary>
    FailedPrecondition,

    /// <summary>A configured capacity is used up; retrying later may succeed.</summary>
    ResourceExhausted,

    /// <summary>Temporarily unable to serve (the model is still loading); retrying later will succeed.</summary>
    Unavailable,

    /// <summary>A session stayed silent for longer than its idle timeout and was released.</summary>
    DeadlineExceeded,
}

/// <summary>
/// A request the service refuses, with a message that says what to change. Thrown by validation and by the session
/// and concurrency bookkeeping; never for a bug of the service itself.
/// </summary>
public sealed class RequestRejectedException(RejectionKind kind, string message) : Exception(message)
{
    public RejectionKind Kind { get; } = kind;

    public static RequestRejectedException Invalid(string message) => new(RejectionKind.InvalidArgument, message);

    public static RequestRejectedException Precondition(string message) => new(RejectionKind.FailedPrecondition, message);
}
