using DiscriminativeTokens.Tensors;
using Grpc.Core;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// Runs a call's body and turns what it throws into the gRPC status a caller can act on: bad input (the caller's to
/// fix) INVALID_ARGUMENT with the message, no classifier UNAVAILABLE with the reason, too many calls
/// RESOURCE_EXHAUSTED, a cancelled call CANCELLED, anything else INTERNAL with a generic message (and the exception
/// in the log).
/// </summary>
internal static class ClassifierCallErrors
{
    public static async Task<T> Run<T>(ServerCallContext context, ILogger logger, Func<Task<T>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Map(e, context, logger);
        }
    }

    public static async Task Run(ServerCallContext context, ILogger logger, Func<Task> body)
    {
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Map(e, context, logger);
        }
    }

    private static RpcException Map(Exception e, ServerCallContext context, ILogger logger)
    {
        switch (e)
        {
            // ClassifierInputException is an ArgumentException: shapes, values, class ids, batch size, call fields.
            case ArgumentException or TensorFormatException:
                return new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
            case ClassifierUnavailableException:
                return new RpcException(new Status(StatusCode.Unavailable, e.Message));
            case ClassifierBusyException:
                return new RpcException(new Status(StatusCode.ResourceExhausted, e.Message));
            case not null when context.CancellationToken.IsCancellationRequested:
                // The client went away (or its deadline passed) while its images or results were in transit.
                return new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
            default:
                logger.LogError(e, "{Method} failed", context.Method);
                return new RpcException(new Status(StatusCode.Internal,
                    "The classifier service failed while handling this call; its log has the details."));
        }
    }
}
