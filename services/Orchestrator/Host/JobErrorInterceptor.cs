using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Jobs;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace DiscriminativeTokens.Orchestrator;

/// <summary>
/// Maps the domain's refusals to gRPC statuses in one place: <see cref="JobRequestException"/> by its kind
/// (INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, NOT_FOUND) and <see cref="BackendException"/> by its
/// failure (UNAVAILABLE, INVALID_ARGUMENT, FAILED_PRECONDITION, INTERNAL).
/// </summary>
public sealed class JobErrorInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (ToRpc(e) is { } rpc)
        {
            throw rpc;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (ToRpc(e) is { } rpc)
        {
            throw rpc;
        }
    }

    private static RpcException? ToRpc(Exception error) => error switch
    {
        JobRequestException or BackendException => ToRpc(JobFailures.ToStatus(error)),
        _ => null,
    };

    private static RpcException ToRpc(Google.Rpc.Status status) => new(new Status((StatusCode)status.Code, status.Message));
}
