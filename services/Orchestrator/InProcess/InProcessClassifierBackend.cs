using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Orchestration.Backends;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Orchestration.InProcess;

/// <summary>
/// The classifier backend over a <see cref="ClassifierPipeline"/> in this process. Bad input (the pipeline's
/// <see cref="ClassifierInputException"/>) is <see cref="BackendFailure.InvalidRequest"/>, as the classifier service
/// answers INVALID_ARGUMENT; anything else is <see cref="BackendFailure.Internal"/>. The pipeline stays the caller's.
/// </summary>
public sealed class InProcessClassifierBackend(ClassifierPipeline pipeline, string name = "in-process") : IClassifierBackend
{
    public string Name { get; } = name;
    public string Address => "in-process";

    public Task<ClassifierModelInfo> GetInfoAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new ClassifierModelInfo(pipeline.Info.ModelId, pipeline.Info.NumClasses, pipeline.Info.Labels));

    public Task<ClassifierLoss> LossAndGradientAsync(TensorData image, int targetClassId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        return RunAsync(() =>
        {
            using var scope = NewDisposeScope();
            if (image.Shape is not [1, _, _, _])
                throw new ClassifierInputException($"Loss and gradient take one image [1, 3, H, W]; got {image}.");
            using var result = pipeline.LossAndGradient(TensorDataTorch.ToTensor(image), [targetClassId]);
            return new ClassifierLoss(result.Losses[0], result.PredictedClassIds[0], result.TargetProbabilities[0],
                                      TensorDataTorch.ToTensorData(result.ImageGradient));
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ClassifierPrediction>> ClassifyAsync(TensorData images, int targetClassId,
                                                                   CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        return RunAsync<IReadOnlyList<ClassifierPrediction>>(() =>
        {
            if (targetClassId < 0 || targetClassId >= pipeline.Info.NumClasses)
                throw new ClassifierInputException($"Target class id {targetClassId} is out of range: this classifier has " +
                                                   $"classes 0..{pipeline.Info.NumClasses - 1}.");
            using var scope = NewDisposeScope();
            var logits = pipeline.Classify(TensorDataTorch.ToTensor(images));
            int[] predicted = TensorDataTorch.ToArray(logits.argmax(1).to(ScalarType.Float32)).Select(v => (int)v).ToArray();
            float[] probabilities = TensorDataTorch.ToArray(nn.functional.softmax(logits, 1)[.., targetClassId]);
            return predicted.Select((id, i) => new ClassifierPrediction(id, probabilities[i])).ToArray();
        }, cancellationToken);
    }

    private async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        try
        {
            return await Task.Run(work, cancellationToken);
        }
        catch (ArgumentException e)
        {
            throw new BackendException(Name, BackendFailure.InvalidRequest, e.Message, e);
        }
        catch (Exception e) when (e is not OperationCanceledException and not BackendException)
        {
            throw new BackendException(Name, BackendFailure.Internal, $"The classifier failed: {e.Message}", e);
        }
    }
}
