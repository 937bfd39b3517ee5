using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace DiscriminativeTokens.Hosting;

/// <summary>Logs one line per gRPC call: method, final status code, duration and peer.</summary>
public sealed class CallLoggingInterceptor(ILogger<CallLoggingInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        Logged(context, () => continuation(request, context));

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        Logged(context, () => continuation(requestStream, context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        Logged(context, async () => { await continuation(request, responseStream, context); return true; });

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        Logged(context, async () => { await continuation(requestStream, responseStream, context); return true; });

    private async Task<T> Logged<T>(ServerCallContext context, Func<Task<T>> call)
    {
        long start = Stopwatch.GetTimestamp();
        StatusCode code = StatusCode.OK;
        try
        {
            return await call();
        }
        catch (RpcException e)
        {
            code = e.StatusCode;
            throw;
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            code = StatusCode.Cancelled;
            throw;
        }
        catch (Exception)
        {
            code = StatusCode.Unknown;
            throw;
        }
        finally
        {
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (code is StatusCode.OK or StatusCode.Cancelled or StatusCode.NotFound or StatusCode.InvalidArgument
                or StatusCode.FailedPrecondition or StatusCode.Unimplemented or StatusCode.ResourceExhausted)
                logger.LogInformation("{Method} {Code} in {Milliseconds:F1} ms from {Peer}", context.Method, code, ms, context.Peer);
            else
                logger.LogWarning("{Method} {Code} in {Milliseconds:F1} ms from {Peer}", context.Method, code, ms, context.Peer);
        }
    }
}
