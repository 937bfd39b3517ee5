using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.InProcess;

/// <summary>Runs diffusion domain calls and reports their refusals as <see cref="BackendException"/>, with the
/// kinds the gRPC service would map to the same status codes.</summary>
internal static class DiffusionRejections
{
    public static BackendFailure FailureOf(RejectionKind kind) => kind switch
    {
        RejectionKind.InvalidArgument => BackendFailure.InvalidRequest,
        RejectionKind.FailedPrecondition => BackendFailure.Precondition,
        RejectionKind.ResourceExhausted or RejectionKind.Unavailable or RejectionKind.DeadlineExceeded => BackendFailure.Transient,
        _ => BackendFailure.Internal,
    };

    public static T Guard<T>(string service, Func<T> call)
    {
        try
        {
            return call();
        }
        catch (Exception e) when (Map(service, e) is { } mapped)
        {
            throw mapped;
        }
    }

    public static async Task<T> GuardAsync<T>(string service, Func<T> work, CancellationToken cancellationToken)
    {
        try
        {
            // Sampling and backpropagation block for seconds: a thread-pool thread of their own lets a forward and a
            // backward of one session run at the same time.
            return await Task.Run(work, cancellationToken);
        }
        catch (Exception e) when (Map(service, e) is { } mapped)
        {
            throw mapped;
        }
    }

    private static BackendException? Map(string service, Exception e) => e switch
    {
        BackendException => null,
        OperationCanceledException => null,
        RequestRejectedException r => new BackendException(service, FailureOf(r.Kind), r.Message, r),
        ArgumentException a => new BackendException(service, BackendFailure.InvalidRequest, a.Message, a),
        _ => new BackendException(service, BackendFailure.Internal, $"The diffusion model failed: {e.Message}", e),
    };
}
