using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Evaluation;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>The generation and scoring an evaluation job runs; <see cref="EvaluationRunEngine"/> is the real one.</summary>
public interface IEvaluationEngine
{
    Task<EvaluationOutcome> RunAsync(IDiffusionBackend diffusion, IClassifierBackend classifier,
        EvaluationSettings settings, IEvaluationObserver observer, CancellationToken cancellationToken);
}

/// <summary>Runs <see cref="EvaluationRun"/>.</summary>
public sealed class EvaluationRunEngine : IEvaluationEngine
{
    public Task<EvaluationOutcome> RunAsync(IDiffusionBackend diffusion, IClassifierBackend classifier,
        EvaluationSettings settings, IEvaluationObserver observer, CancellationToken cancellationToken) =>
        new EvaluationRun(diffusion, classifier, settings, observer).RunAsync(cancellationToken);
}
