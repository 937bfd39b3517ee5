using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Contracts.Classifier.V1;
using DiscriminativeTokens.Hosting;
using DiscriminativeTokens.Tensors;
using Grpc.Core;

namespace DiscriminativeTokens.ClassifierService;

/// <summary>
/// gRPC face of the classifier: reassembles the images, checks the call's own fields, runs the domain
/// <see cref="ClassifierPipeline"/> under the <see cref="ClassifierCallGate"/>, and streams the results back. Errors are
/// mapped by <see cref="ClassifierCallErrors"/>.
/// </summary>
public sealed class ClassifierGrpcService(
    LoadedClassifier classifier,
    ClassifierCallGate gate,
    ILogger<ClassifierGrpcService> logger) : Contracts.Classifier.V1.ClassifierService.ClassifierServiceBase
{
    /// <summary>Per-image classes reported by Classify when the first message leaves top_k at 0.</summary>
    public const int DefaultTopK = 5;

    public override Task<Contracts.Classifier.V1.ClassifierInfo> GetInfo(GetInfoRequest request, ServerCallContext context) =>
        ClassifierCallErrors.Run(context, logger, () => Task.FromResult(ClassifierProtoMapping.ToProto(classifier.Pipeline.Info)));

    public override Task<ClassifyResponse> Classify(IAsyncStreamReader<ClassifyRequest> requestStream, ServerCallContext context) =>
        ClassifierCallErrors.Run(context, logger, async () =>
        {
            var pipeline = classifier.Pipeline;
            using var admission = gate.Admit();
            int topK = DefaultTopK;
            using var images = await ImageRequestReader.ReadAsync(
                requestStream, r => r.Images,
                (r, index) =>
                {
                    if (index == 0)
                        topK = r.TopK switch
                        {
                            0 => DefaultTopK,
                            < 0 => throw new ClassifierInputException($"top_k is {r.TopK}; give a positive number of classes " +
                                                                      $"(or 0 for the default {DefaultTopK})."),
                            _ => r.TopK,
                        };
                    else if (r.TopK != 0)
                        throw FirstMessageOnly("top_k", index);
                },
                pipeline.Info, context.CancellationToken);

            await admission.WaitForModelAsync(context.CancellationToken);
            using var logits = pipeline.Classify(images);
            var top = pipeline.TopClasses(logits, Math.Min(topK, pipeline.Info.NumClasses));
            return ClassifierProtoMapping.ToClassifyResponse(logits, top);
        });

    public override Task LossAndGradient(IAsyncStreamReader<LossAndGradientRequest> requestStream,
                                         IServerStreamWriter<LossAndGradientResponse> responseStream, ServerCallContext context) =>
        ClassifierCallErrors.Run(context, logger, async () =>
        {
            var pipeline = classifier.Pipeline;
            using var admission = gate.Admit();
            int[] targets = [];
            int chunkBytes = GrpcLimits.DefaultChunkBytes;
            using var images = await ImageRequestReader.ReadAsync(
                requestStream, r => r.Images,
                (r, index) =>
                {
                    if (index == 0)
                    {
                        targets = [.. r.TargetClassIds];
                        chunkBytes = ChunkBytes(r.MaxChunkBytes);
                    }
                    else if (r.TargetClassIds.Count > 0)
                        throw FirstMessageOnly("target_class_ids", index);
                    else if (r.MaxChunkBytes != 0)
                        throw FirstMessageOnly("max_chunk_bytes", index);
                },
                pipeline.Info, context.CancellationToken);

            await admission.WaitForModelAsync(context.CancellationToken);
            BatchResult batch;
            PooledTensorEncoding gradient;
            using (var result = pipeline.LossAndGradient(images, targets))
            {
                batch = ClassifierProtoMapping.ToBatchResult(result);
                gradient = PooledTensorEncoding.Encode(result.ImageGradient);
            }
            // The results are in memory; the next call may use the model while these stream out.
            admission.ReleaseModel();
            using (gradient)
            {
                bool first = true;
                foreach (var chunk in gradient.Split(chunkBytes))
                {
                    var response = new LossAndGradientResponse { ImageGradient = chunk };
                    if (first) response.Result = batch;
                    first = false;
                    await responseStream.WriteAsync(response, context.CancellationToken);
                }
            }
        });

    private static int ChunkBytes(int requested) => requested switch
    {
        0 => GrpcLimits.DefaultChunkBytes,
        < 0 or > GrpcLimits.MaxChunkBytes => throw new ClassifierInputException(
            $"max_chunk_bytes is {requested}; give 1..{GrpcLimits.MaxChunkBytes} bytes (or 0 for the default " +
            $"{GrpcLimits.DefaultChunkBytes})."),
        _ => requested,
    };

    private static ClassifierInputException FirstMessageOnly(string field, int index) =>
        new($"{field} belongs in the first request message only, but message {index} carries it; send it once, with or " +
            "before the first image chunk.");
}
