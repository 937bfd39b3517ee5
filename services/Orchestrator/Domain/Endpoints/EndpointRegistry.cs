using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Jobs;

namespace DiscriminativeTokens.Orchestration.Endpoints;

/// <summary>Resolves a request's <see cref="ServiceRef"/> to a configured endpoint (or an allowed address).</summary>
public sealed class EndpointRegistry
{
    private readonly Dictionary<string, string> _diffusion;
    private readonly Dictionary<string, string> _classifiers;

    public EndpointRegistry(EndpointOptions options)
    {
        _diffusion = Validated(options.Diffusion, "Diffusion");
        _classifiers = Validated(options.Classifiers, "Classifiers");
        ArbitraryAddressesAllowed = options.AllowArbitraryAddresses;
    }

    public bool ArbitraryAddressesAllowed { get; }

    public IReadOnlyList<ResolvedEndpoint> Diffusion => List(_diffusion);
    public IReadOnlyList<ResolvedEndpoint> Classifiers => List(_classifiers);

    /// <summary>
    /// The endpoint a request names: empty = "default"; an unknown name is INVALID_ARGUMENT listing the configured
    /// names; an address is PERMISSION_DENIED unless the operator allows arbitrary addresses.
    /// </summary>
    public ResolvedEndpoint Resolve(ServiceKind kind, ServiceRef? reference)
    {
        string what = Describe(kind);
        if (reference?.TargetCase == ServiceRef.TargetOneofCase.Address)
        {
            string address = reference.Address.Trim();
            if (!ArbitraryAddressesAllowed)
                throw new JobRequestException(JobRequestError.PermissionDenied,
                    $"The {what} address '{address}' was refused: this orchestrator only connects to its configured " +
                    $"endpoints ({Names(kind)}). Name one of them, or ask the operator to set " +
                    "Orchestrator:AllowArbitraryAddresses=true.");
            if (!IsHttpAddress(address))
                throw JobRequestException.Invalid($"The {what} address '{address}' is not an absolute http:// or https:// address.");
            return new ResolvedEndpoint(address, address);
        }
        string name = reference?.TargetCase == ServiceRef.TargetOneofCase.Endpoint && reference.Endpoint.Trim().Length > 0
            ? reference.Endpoint.Trim()
            : EndpointOptions.DefaultName;
        var table = kind == ServiceKind.Diffusion ? _diffusion : _classifiers;
        if (table.TryGetValue(name, out var configured))
            return new ResolvedEndpoint(name, configured);
        throw JobRequestException.Invalid(
            $"There is no {what} endpoint named '{name}'. Configured: {Names(kind)}.");
    }

    /// <summary>The reference as stored with a job: the endpoint name filled in, or the address.</summary>
    public static ServiceRef Normalize(ServiceRef? reference, ResolvedEndpoint resolved) =>
        reference?.TargetCase == ServiceRef.TargetOneofCase.Address
            ? new ServiceRef { Address = resolved.Address }
            : new ServiceRef { Endpoint = resolved.Name };

    private string Names(ServiceKind kind)
    {
        var table = kind == ServiceKind.Diffusion ? _diffusion : _classifiers;
        return table.Count == 0 ? "none" : string.Join(", ", table.Keys.Order(StringComparer.Ordinal).Select(n => $"'{n}'"));
    }

    private static string Describe(ServiceKind kind) => kind == ServiceKind.Diffusion ? "diffusion" : "classifier";

    private static IReadOnlyList<ResolvedEndpoint> List(Dictionary<string, string> table) =>
        table.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new ResolvedEndpoint(e.Key, e.Value)).ToList();

    private static Dictionary<string, string> Validated(IReadOnlyDictionary<string, string> configured, string section)
    {
        var table = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, address) in configured)
        {
            if (!IsHttpAddress(address))
                throw new ArgumentException(
                    $"Orchestrator:Endpoints:{section}:{name} = '{address}' is not an absolute http:// or https:// address.");
            table[name] = address.Trim();
        }
        return table;
    }

    private static bool IsHttpAddress(string address) =>
        Uri.TryCreate(address.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == "http" || uri.Scheme == "https");
}
