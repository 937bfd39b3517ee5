using DiscriminativeTokens.Contracts.Diffusion.V1;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>
/// gRPC face of the diffusion model. Model loading, generation and gradient sessions are implemented by the
/// DiffusionService issue; until then every RPC answers UNIMPLEMENTED (the generated base class does that).
/// </summary>
public sealed class DiffusionGrpcService : Contracts.Diffusion.V1.DiffusionService.DiffusionServiceBase
{
}
