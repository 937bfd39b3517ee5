using DiscriminativeTokens.Orchestration.Backends;
using Google.Rpc;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>Turns the exception that ended a job into the google.rpc.Status its JobFailed event carries.</summary>
public static class JobFailures
{
    public static Status ToStatus(Exception error) => error switch
    {
        JobRequestException e => new Status { Code = (int)ToCode(e.Error), Message = e.Message },
        BackendException e => new Status
        {
            Code = (int)(e.Failure switch
            {
                BackendFailure.Transient => Code.Unavailable,
                BackendFailure.InvalidRequest => Code.InvalidArgument,
                BackendFailure.Precondition => Code.FailedPrecondition,
                _ => Code.Internal,
            }),
            Message = e.Message,
        },
        InvalidDataException or FileNotFoundException => new Status { Code = (int)Code.FailedPrecondition, Message = error.Message },
        NotImplementedException => new Status { Code = (int)Code.Unimplemented, Message = error.Message },
        _ => new Status { Code = (int)Code.Internal, Message = $"{error.GetType().Name}: {error.Message}" },
    };

    public static Code ToCode(JobRequestError error) => error switch
    {
        JobRequestError.InvalidArgument => Code.InvalidArgument,
        JobRequestError.FailedPrecondition => Code.FailedPrecondition,
        JobRequestError.PermissionDenied => Code.PermissionDenied,
        JobRequestError.NotFound => Code.NotFound,
        _ => Code.Unknown,
    };
}
