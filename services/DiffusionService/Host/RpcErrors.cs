using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Tensors;
using Grpc.Core;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>Turns the domain's refusals into gRPC statuses: the message travels unchanged, the kind picks the code.</summary>
internal static class RpcErrors
{
    public static StatusCode CodeOf(RejectionKind kind) => kind switch
    {
        RejectionKind.InvalidArgument => StatusCode.InvalidArgument,
        RejectionKind.FailedPrecondition => StatusCode.FailedPrecondition,
        RejectionKind.ResourceExhausted => StatusCode.ResourceExhausted,
        RejectionKind.Unavailable => StatusCode.Unavailable,
        RejectionKind.DeadlineExceeded => StatusCode.DeadlineExceeded,
        _ => StatusCode.Unknown,
    };

    /// <summary>The status for an exception a request caused, or null for one it did not (a bug, a cancellation).</summary>
    public static Status? StatusOf(Exception e) => e switch
    {
        RequestRejectedException r => new Status(CodeOf(r.Kind), r.Message),
        TensorFormatException t => new Status(StatusCode.InvalidArgument, t.Message),
        _ => null,
    };

    /// <summary>Runs a handler, mapping refusals to <see cref="RpcException"/>.</summary>
    public static async Task<T> Guard<T>(Func<Task<T>> handler)
    {
        try
        {
            return await handler().ConfigureAwait(false);
        }
        catch (Exception e) when (StatusOf(e) is { } status)
        {
            throw new RpcException(status);
        }
    }

    public static async Task Guard(Func<Task> handler)
    {
        try
        {
            await handler().ConfigureAwait(false);
        }
        catch (Exception e) when (StatusOf(e) is { } status)
        {
            throw new RpcException(status);
        }
    }

    /// <summary>A refusal about one field of a tensor message.</summary>
    public static RequestRejectedException InvalidTensor(string field, TensorFormatException e) =>
        RequestRejectedException.Invalid($"{field}: {e.Message}");
}
