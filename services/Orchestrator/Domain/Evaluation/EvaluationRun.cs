using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Evaluation;

/// <summary>Generates and scores the evaluation images. Implementation lands with branch loop.</summary>
public sealed class EvaluationRun
{
#pragma warning disable IDE0060 // signature placeholder until the evaluation lands
    public EvaluationRun(IDiffusionBackend diffusion, IClassifierBackend classifier, EvaluationSettings settings,
        IEvaluationObserver observer) { }
#pragma warning restore IDE0060

    public Task<EvaluationOutcome> RunAsync(CancellationToken cancellationToken) =>
        throw new NotImplementedException("EvaluationRun lands with branch loop.");
}
