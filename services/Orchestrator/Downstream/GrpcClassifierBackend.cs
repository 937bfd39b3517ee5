using DiscriminativeTokens.Contracts.Classifier.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Client = DiscriminativeTokens.Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// A classifier service reached over gRPC (classifier.proto; any implementation, e.g. one written in Python). Calls go
/// through the connection's channel and circuit breaker (see <see cref="GrpcBackend"/>); every failure is a
/// <see cref="BackendException"/> naming the service and address.
/// </summary>
public sealed class GrpcClassifierBackend : GrpcBackend, IClassifierBackend
{
    private readonly Client _client;

    public GrpcClassifierBackend(string name, string address, DownstreamOptions? options = null)
        : this(new DownstreamConnection("classifier", name, address, options), ownsConnection: true)
    {
    }

    /// <summary>A backend over a connection shared with other backends of the same service; disposing the backend
    /// leaves the connection open.</summary>
    internal GrpcClassifierBackend(DownstreamConnection connection, bool ownsConnection) : base(connection, ownsConnection)
    {
        _client = new Client(Connection.Channel);
    }

    public Task<ClassifierModelInfo> GetInfoAsync(CancellationToken cancellationToken) =>
        Connection.CallAsync("GetInfo", async token =>
        {
            var info = await _client.GetInfoAsync(new GetInfoRequest(), deadline: Connection.InfoDeadline, cancellationToken: token)
                                    .ConfigureAwait(false);
            return new ClassifierModelInfo(info.ModelId, info.NumClasses, [.. info.Labels]);
        }, cancellationToken);

    public Task<ClassifierLoss> LossAndGradientAsync(TensorData image, int targetClassId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var wire = WireMapping.Encode(image, "image");
        const string operation = "LossAndGradient";
        return Connection.CallAsync(operation, async token =>
        {
            using var call = _client.LossAndGradient(deadline: Connection.ComputeDeadline, cancellationToken: token);
            var messages = TensorChunker.Split(wire, Connection.Options.MaxChunkBytes).Select((chunk, i) =>
            {
                var request = new LossAndGradientRequest { Images = chunk };
                if (i == 0)
                {
                    request.TargetClassIds.Add(targetClassId);
                    request.MaxChunkBytes = Connection.Options.MaxChunkBytes;
                }
                return request;
            });
            await SendAsync(call.RequestStream, messages).ConfigureAwait(false);

            BatchResult? result = null;
            using var gradient = new TensorMessageAssembler();
            try
            {
                while (await call.ResponseStream.MoveNext(token).ConfigureAwait(false))
                {
                    var response = call.ResponseStream.Current;
                    result ??= response.Result;
                    if (response.ImageGradient is { } chunk) gradient.Add(chunk);
                }
            }
            catch (TensorFormatException e)
            {
                throw Connection.Failure(BackendFailure.Internal, operation, $"malformed gradient chunks: {e.Message}", e);
            }
            if (result is null || result.Losses.Count != 1 || result.PredictedClassIds.Count != 1 || result.TargetProbabilities.Count != 1)
                throw Connection.Failure(BackendFailure.Internal, operation, "a reply without one loss, prediction and probability");
            if (!gradient.IsComplete)
                throw Connection.Failure(BackendFailure.Internal, operation, "a reply whose gradient chunks stopped before the last");
            var imageGradient = WireMapping.Decode(gradient.GetResult(), Connection, operation, "image gradient");
            if (!imageGradient.Shape.SequenceEqual(image.Shape))
                throw Connection.Failure(BackendFailure.Internal, operation,
                                          $"a gradient of shape {imageGradient} for an image of shape {image}");
            return new ClassifierLoss(result.Losses[0], result.PredictedClassIds[0], result.TargetProbabilities[0], imageGradient);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ClassifierPrediction>> ClassifyAsync(TensorData images, int targetClassId,
                                                                  CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(images);
        var wire = WireMapping.Encode(images, "images");
        const string operation = "Classify";
        return Connection.CallAsync<IReadOnlyList<ClassifierPrediction>>(operation, async token =>
        {
            using var call = _client.Classify(deadline: Connection.ComputeDeadline, cancellationToken: token);
            var messages = TensorChunker.Split(wire, Connection.Options.MaxChunkBytes)
                                        .Select((chunk, i) => new ClassifyRequest { TopK = i == 0 ? 1 : 0, Images = chunk });
            await SendAsync(call.RequestStream, messages).ConfigureAwait(false);
            var response = await call.ResponseAsync.ConfigureAwait(false);
            var logits = WireMapping.Decode(response.Logits, Connection, operation, "logits");
            if (logits.Shape.Length != 2 || logits.Shape[0] != images.Shape[0])
                throw Connection.Failure(BackendFailure.Internal, operation,
                                          $"logits of shape {logits} for {images.Shape[0]} image(s)");
            int classes = (int)logits.Shape[1];
            if (targetClassId < 0 || targetClassId >= classes)
                throw Connection.Failure(BackendFailure.InvalidRequest, operation,
                    $"a local check: target class id {targetClassId} is out of range; this classifier has classes 0..{classes - 1}");
            return Predictions(logits.Values, classes, targetClassId);
        }, cancellationToken);
    }

    /// <summary>Arg-max and softmax probability of the target per row (max-shifted, in double).</summary>
    private static List<ClassifierPrediction> Predictions(float[] logits, int classes, int targetClassId)
    {
        var predictions = new List<ClassifierPrediction>();
        for (int row = 0; row * classes < logits.Length; row++)
        {
            var values = logits.AsSpan(row * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (values[c] > values[best]) best = c;
            double max = values[best], sum = 0;
            foreach (float v in values) sum += Math.Exp(v - max);
            predictions.Add(new ClassifierPrediction(best, (float)(Math.Exp(values[targetClassId] - max) / sum)));
        }
        return predictions;
    }

    /// <summary>
    /// Writes the request messages and completes the stream. A service that refuses a call early ends it while chunks
    /// are still going out; the write then fails and reading the response reports the service's status.
    /// </summary>
    private static async Task SendAsync<T>(IClientStreamWriter<T> stream, IEnumerable<T> messages)
    {
        try
        {
            foreach (var message in messages)
                await stream.WriteAsync(message).ConfigureAwait(false);
            await stream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
        }
    }
}
