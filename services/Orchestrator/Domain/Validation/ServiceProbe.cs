using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Jobs;

namespace DiscriminativeTokens.Orchestration.Validation;

/// <summary>
/// Asks a downstream service something at request time within a short deadline. A service that does not answer (or
/// answers with a failure that is not about the request) makes the request FAILED_PRECONDITION, naming the address.
/// </summary>
internal static class ServiceProbe
{
    public static async Task<T> AskAsync<T>(string service, ResolvedEndpoint endpoint, TimeSpan timeout,
        Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return await call(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw JobRequestException.Precondition(
                $"The {service} service '{endpoint.Name}' at {endpoint.Address} did not answer within " +
                $"{timeout.TotalSeconds:0.#} s. Start it (scripts/run-local.sh starts all three services) or pick another endpoint.");
        }
        catch (BackendException e) when (e.Failure is BackendFailure.Transient or BackendFailure.Internal)
        {
            throw JobRequestException.Precondition(
                $"The {service} service '{endpoint.Name}' at {endpoint.Address} is unreachable or failing: {e.Detail}. " +
                "Start it (scripts/run-local.sh starts all three services) or pick another endpoint.");
        }
    }
}
