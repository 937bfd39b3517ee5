using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Orchestrator;

/// <summary>
/// gRPC face of the job system. Jobs, training and evaluation are implemented by the Orchestrator issue; until then
/// every RPC answers UNIMPLEMENTED (the generated base class does that).
/// </summary>
public sealed class OrchestratorGrpcService : OrchestratorService.OrchestratorServiceBase
{
}
