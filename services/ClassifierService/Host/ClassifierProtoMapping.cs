using DiscriminativeTokens.Tensors;
using Domain = DiscriminativeTokens.Classification;
using Proto = DiscriminativeTokens.Contracts.Classifier.V1;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>Domain results to classifier.proto messages.</summary>
internal static class ClassifierProtoMapping
{
    public static Proto.ClassifierInfo ToProto(Domain.ClassifierInfo info)
    {
        var message = new Proto.ClassifierInfo
        {
            ModelId = info.ModelId,
            NumClasses = info.NumClasses,
            MaxBatchSize = info.MaxBatchSize,
            Input = new Proto.InputSpec
            {
                Channels = Domain.ClassifierInfo.Channels,
                MinValue = Domain.ClassifierInfo.MinValue,
                MaxValue = Domain.ClassifierInfo.MaxValue,
                MinSize = info.MinImageSide,
                MaxSize = info.MaxImageSide,
                Preprocessing = info.Preprocessing,
            },
        };
        message.Labels.AddRange(info.Labels);
        return message;
    }

    public static Proto.ClassifyResponse ToClassifyResponse(TorchSharp.torch.Tensor logits,
                                                            IReadOnlyList<IReadOnlyList<Domain.ClassScore>> top)
    {
        var response = new Proto.ClassifyResponse { Logits = TensorCodec.Encode(logits) };
        foreach (var image in top)
        {
            var classes = new Proto.TopClasses();
            classes.Classes.AddRange(image.Select(c => new Proto.ClassScore
            {
                ClassId = c.ClassId,
                Label = c.Label,
                Probability = c.Probability,
                Logit = c.Logit,
            }));
            response.Predictions.Add(classes);
        }
        return response;
    }

    public static Proto.BatchResult ToBatchResult(Domain.ClassifierLossResult result)
    {
        var batch = new Proto.BatchResult { Logits = TensorCodec.Encode(result.Logits) };
        batch.Losses.AddRange(result.Losses);
        batch.PredictedClassIds.AddRange(result.PredictedClassIds);
        batch.TargetProbabilities.AddRange(result.TargetProbabilities);
        return batch;
    }
}
