namespace DiscriminativeTokens.Orchestration.Backends;

public sealed record ClassifierModelInfo(string ModelId, int NumClasses, IReadOnlyList<string> Labels);

/// <summary>Cross-entropy against the target for one image, what the classifier predicted, and dLoss/dImage.</summary>
public sealed record ClassifierLoss(float Loss, int PredictedClassId, float TargetProbability, TensorData ImageGradient);

/// <summary>A prediction for one image: the arg-max class and the probability of the asked-about class.</summary>
public sealed record ClassifierPrediction(int PredictedClassId, float TargetProbability);

/// <summary>
/// A classifier as the orchestrator uses it. Implemented in process (over the classifier domain) and over gRPC (any
/// server implementing classifier.proto). Failures are <see cref="BackendException"/>.
/// </summary>
public interface IClassifierBackend
{
    string Name { get; }
    string Address { get; }

    Task<ClassifierModelInfo> GetInfoAsync(CancellationToken cancellationToken);

    /// <summary>Loss and gradient for one image [1, 3, H, W] in [0, 1].</summary>
    Task<ClassifierLoss> LossAndGradientAsync(TensorData image, int targetClassId, CancellationToken cancellationToken);

    /// <summary>Predictions for images [N, 3, H, W] in [0, 1], with the probability of <paramref name="targetClassId"/>.</summary>
    Task<IReadOnlyList<ClassifierPrediction>> ClassifyAsync(TensorData images, int targetClassId, CancellationToken cancellationToken);
}
