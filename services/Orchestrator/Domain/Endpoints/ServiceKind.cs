namespace DiscriminativeTokens.Orchestration.Endpoints;

/// <summary>The two kinds of downstream service a job talks to.</summary>
public enum ServiceKind { Diffusion, Classifier }

/// <summary>A downstream service as a job uses it: the endpoint name (or the address itself) and its address.</summary>
public sealed record ResolvedEndpoint(string Name, string Address);
