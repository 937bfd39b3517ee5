using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Endpoints;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// The diffusion and classifier backends one request check or one job talks to, created from its service references
/// (resolved against the configured endpoints first, so a refused name or address connects to nothing). Disposing
/// frees both.
/// </summary>
internal sealed class JobServices : IAsyncDisposable
{
    private JobServices(ResolvedEndpoint diffusionEndpoint, ResolvedEndpoint classifierEndpoint,
                        IDiffusionBackend diffusion, IClassifierBackend classifier)
    {
        DiffusionEndpoint = diffusionEndpoint;
        ClassifierEndpoint = classifierEndpoint;
        Diffusion = diffusion;
        Classifier = classifier;
    }

    public ResolvedEndpoint DiffusionEndpoint { get; }
    public ResolvedEndpoint ClassifierEndpoint { get; }
    public IDiffusionBackend Diffusion { get; }
    public IClassifierBackend Classifier { get; }

    public static async Task<JobServices> CreateAsync(EndpointRegistry endpoints, IBackendFactory factory,
                                                      ServiceRef? diffusion, ServiceRef? classifier)
    {
        var diffusionEndpoint = endpoints.Resolve(ServiceKind.Diffusion, diffusion);
        var classifierEndpoint = endpoints.Resolve(ServiceKind.Classifier, classifier);
        var diffusionBackend = factory.CreateDiffusion(diffusionEndpoint.Name, diffusionEndpoint.Address);
        try
        {
            var classifierBackend = factory.CreateClassifier(classifierEndpoint.Name, classifierEndpoint.Address);
            return new JobServices(diffusionEndpoint, classifierEndpoint, diffusionBackend, classifierBackend);
        }
        catch
        {
            await BackendCalls.DisposeAsync(diffusionBackend);
            throw;
        }
    }

    /// <summary>The JobStarted event of a job using these services for class <paramref name="classId"/>.</summary>
    public JobEvent Started(int classId, string classLabel) => new()
    {
        Started = new JobStarted
        {
            DiffusionAddress = DiffusionEndpoint.Address,
            ClassifierAddress = ClassifierEndpoint.Address,
            ClassId = classId,
            ClassLabel = classLabel,
        },
    };

    public async ValueTask DisposeAsync()
    {
        await BackendCalls.DisposeAsync(Classifier);
        await BackendCalls.DisposeAsync(Diffusion);
    }
}
