using System.Net.Http;
using System.Net.Sockets;
using DiscriminativeTokens.Orchestration.Backends;
using Grpc.Core;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// Classifies what went wrong with a downstream call into the domain's <see cref="BackendFailure"/>: whether redoing
/// the micro-step later can help (the service is down, restarting, overloaded or slow) or not (the request is wrong,
/// the service cannot serve it, or a bug). The service's own message is kept.
/// </summary>
public static class DownstreamFailures
{
    public static BackendFailure Classify(StatusCode code) => code switch
    {
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted =>
            BackendFailure.Transient,
        StatusCode.InvalidArgument => BackendFailure.InvalidRequest,
        StatusCode.FailedPrecondition or StatusCode.NotFound or StatusCode.OutOfRange or StatusCode.PermissionDenied =>
            BackendFailure.Precondition,
        _ => BackendFailure.Internal,
    };

    /// <summary>The failure kind of an <see cref="RpcException"/>, recognizing broken connections whatever code they
    /// surfaced with (grpc-dotnet reports a refused or reset connection as UNAVAILABLE, INTERNAL or UNKNOWN).</summary>
    public static BackendFailure Classify(RpcException e) =>
        IsBrokenConnection(e) ? BackendFailure.Transient : Classify(e.StatusCode);

    /// <summary>A refused, reset or dropped connection, or an HTTP/2 stream reset: the service went away.</summary>
    public static bool IsBrokenConnection(RpcException e)
    {
        for (Exception? inner = e.Status.DebugException ?? e.InnerException; inner is not null; inner = inner.InnerException)
            if (inner is IOException or HttpRequestException or SocketException)
                return true;
        if (e.StatusCode is StatusCode.Internal or StatusCode.Unknown)
        {
            string detail = e.Status.Detail ?? "";
            return detail.Contains("Error starting gRPC call", StringComparison.Ordinal) ||
                   detail.Contains("HTTP/2", StringComparison.OrdinalIgnoreCase) ||
                   detail.Contains("RST_STREAM", StringComparison.Ordinal) ||
                   detail.Contains("reset", StringComparison.OrdinalIgnoreCase);
        }
        return false;
    }

    /// <summary>The code's name as the gRPC documentation spells it, e.g. INVALID_ARGUMENT.</summary>
    public static string CodeName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        _ => $"status {(int)code}",
    };
}
