namespace DiscriminativeTokens.Orchestration.Backends;

/// <summary>
/// Creates the backends a job talks to from a resolved endpoint (name and address). The host supplies the gRPC
/// implementation; tests may supply in-process ones. Backends are disposed by whoever created them.
/// </summary>
public interface IBackendFactory
{
    IDiffusionBackend CreateDiffusion(string name, string address);
    IClassifierBackend CreateClassifier(string name, string address);
}
