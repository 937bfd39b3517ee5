namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>Why a request about jobs was refused; the host maps each kind to a gRPC status code.</summary>
public enum JobRequestError
{
    /// <summary>A value of the request is wrong (range, missing placeholder, unknown endpoint name or class).</summary>
    InvalidArgument,
    /// <summary>The request is fine but the world is not ready for it (service unreachable, job not succeeded).</summary>
    FailedPrecondition,
    /// <summary>The operator does not allow it (an arbitrary service address).</summary>
    PermissionDenied,
    /// <summary>No such job.</summary>
    NotFound,
}

/// <summary>A request refused before anything was created; the message says what to fix.</summary>
public sealed class JobRequestException(JobRequestError error, string message) : Exception(message)
{
    public JobRequestError Error { get; } = error;

    public static JobRequestException Invalid(string message) => new(JobRequestError.InvalidArgument, message);
    public static JobRequestException Precondition(string message) => new(JobRequestError.FailedPrecondition, message);
    public static JobRequestException NotFound(string jobId) =>
        new(JobRequestError.NotFound, $"There is no job '{jobId}'; ListJobs shows the existing ones.");
}
