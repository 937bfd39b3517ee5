using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestrator;

/// <summary>
/// Stand-in until the gRPC backends (services/Orchestrator/Downstream, GrpcBackendFactory) are wired in: every call
/// fails as if the service were unreachable, so requests are refused with FAILED_PRECONDITION naming the address.
/// INTEGRATOR: delete this file when Program.cs registers GrpcBackendFactory.
/// </summary>
internal sealed class NotWiredBackendFactory : IBackendFactory
{
    private const string Why = "this orchestrator build has no gRPC backends wired in yet (GrpcBackendFactory)";

    public IDiffusionBackend CreateDiffusion(string name, string address) => new Diffusion(name, address);
    public IClassifierBackend CreateClassifier(string name, string address) => new Classifier(name, address);

    private static BackendException Fail(string name) => new(name, BackendFailure.Transient, Why);

    private sealed class Diffusion(string name, string address) : IDiffusionBackend
    {
        public string Name => name;
        public string Address => address;
        public Task<DiffusionModelInfo> GetModelInfoAsync(CancellationToken cancellationToken) => throw Fail(name);
        public Task<float[]> GetTokenEmbeddingAsync(string word, CancellationToken cancellationToken) => throw Fail(name);
        public Task<IDiffusionGradientSession> OpenGradientSessionAsync(GradientSessionOptions options, CancellationToken cancellationToken) => throw Fail(name);
        public Task<TensorData> GenerateAsync(SamplingSettings sampling, LearnedTokenVector? token, CancellationToken cancellationToken) => throw Fail(name);
    }

    private sealed class Classifier(string name, string address) : IClassifierBackend
    {
        public string Name => name;
        public string Address => address;
        public Task<ClassifierModelInfo> GetInfoAsync(CancellationToken cancellationToken) => throw Fail(name);
        public Task<ClassifierLoss> LossAndGradientAsync(TensorData image, int targetClassId, CancellationToken cancellationToken) => throw Fail(name);
        public Task<IReadOnlyList<ClassifierPrediction>> ClassifyAsync(TensorData images, int targetClassId, CancellationToken cancellationToken) => throw Fail(name);
    }
}
