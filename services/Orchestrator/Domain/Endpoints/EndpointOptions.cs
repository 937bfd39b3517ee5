namespace DiscriminativeTokens.Orchestration.Endpoints;

/// <summary>
/// The services jobs may use, configured by the operator (Orchestrator:Endpoints:Diffusion:&lt;name&gt; and
/// Orchestrator:Endpoints:Classifiers:&lt;name&gt; = address). Callers pick a name; an address of their own is accepted
/// only when <see cref="AllowArbitraryAddresses"/> is on, so an exposed orchestrator cannot be made to connect anywhere.
/// </summary>
public sealed record EndpointOptions
{
    public const string DefaultName = "default";

    public IReadOnlyDictionary<string, string> Diffusion { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Classifiers { get; init; } = new Dictionary<string, string>();
    public bool AllowArbitraryAddresses { get; init; }
}
