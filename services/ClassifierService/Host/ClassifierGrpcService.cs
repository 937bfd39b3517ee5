using DiscriminativeTokens.Contracts.Classifier.V1;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// gRPC face of the classifier. Classifier loading, classification and loss-and-gradient are implemented by the
/// ClassifierService issue; until then every RPC answers UNIMPLEMENTED (the generated base class does that).
/// </summary>
public sealed class ClassifierGrpcService : Contracts.Classifier.V1.ClassifierService.ClassifierServiceBase
{
}
