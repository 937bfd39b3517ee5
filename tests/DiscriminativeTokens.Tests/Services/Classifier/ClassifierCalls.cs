using DiscriminativeTokens.Contracts.Classifier.V1;
using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using TorchSharp;
using Client = DiscriminativeTokens.Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient;

namespace DiscriminativeTokens.Tests.Services.Classifier;

/// <summary>How a .NET caller talks to the classifier service: images out as chunks, results (and gradient chunks) back.</summary>
internal static class ClassifierCalls
{
    public static DateTime Deadline => DateTime.UtcNow.AddSeconds(60);

    public sealed record LossAndGradientReply(BatchResult Result, torch.Tensor Gradient, int Messages) : IDisposable
    {
        public void Dispose() => Gradient.Dispose();
    }

    public static Task<ClassifyResponse> ClassifyAsync(Client client, torch.Tensor images, int topK = 0,
                                                       int sendChunkBytes = TensorChunker.DefaultMaxChunkBytes) =>
        ClassifyAsync(client, TensorChunker.Split(images, sendChunkBytes)
                                           .Select((chunk, i) => new ClassifyRequest { TopK = i == 0 ? topK : 0, Images = chunk }));

    /// <summary>Sends the given messages as they are (well-formed or not) and returns the response.</summary>
    public static async Task<ClassifyResponse> ClassifyAsync(Client client, IEnumerable<ClassifyRequest> messages)
    {
        using var call = client.Classify(deadline: Deadline);
        await SendAsync(call.RequestStream, messages);
        return await call.ResponseAsync;
    }

    public static Task<LossAndGradientReply> LossAndGradientAsync(
        Client client, torch.Tensor images, IEnumerable<int> targets, int maxChunkBytes = 0,
        int sendChunkBytes = TensorChunker.DefaultMaxChunkBytes) =>
        LossAndGradientAsync(client, TensorChunker.Split(images, sendChunkBytes).Select((chunk, i) =>
        {
            var request = new LossAndGradientRequest { Images = chunk };
            if (i == 0)
            {
                request.TargetClassIds.AddRange(targets);
                request.MaxChunkBytes = maxChunkBytes;
            }
            return request;
        }));

    /// <summary>Sends the given messages and reassembles the reply; checks that only the first response carries the result.</summary>
    public static async Task<LossAndGradientReply> LossAndGradientAsync(Client client, IEnumerable<LossAndGradientRequest> messages)
    {
        using var call = client.LossAndGradient(deadline: Deadline);
        await SendAsync(call.RequestStream, messages);
        BatchResult? result = null;
        int count = 0;
        using var assembler = new TorchTensorAssembler();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (count == 0)
                result = response.Result ?? throw new InvalidOperationException("The first response carries no BatchResult.");
            else if (response.Result is not null)
                throw new InvalidOperationException($"Response {count} carries a BatchResult; only the first may.");
            assembler.Add(response.ImageGradient ?? throw new InvalidOperationException($"Response {count} carries no gradient chunk."));
            count++;
        }
        return new LossAndGradientReply(result!, assembler.GetResult(), count);
    }

    /// <summary>
    /// Writes the messages and completes the request stream. A server that refuses a call early (e.g. from the header)
    /// ends it while chunks are still being written; the writes then fail and the call's status tells why.
    /// </summary>
    private static async Task SendAsync<T>(IClientStreamWriter<T> stream, IEnumerable<T> messages)
    {
        try
        {
            foreach (var message in messages)
                await stream.WriteAsync(message);
            await stream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
        }
    }

    /// <summary>Images in [0, 1] from a seeded generator.</summary>
    public static torch.Tensor Images(long count, long height, long width, long seed = 1) =>
        torch.rand([count, 3, height, width], generator: new torch.Generator((ulong)seed));

    /// <summary>Chunks of a tensor as the sender would make them, for tests that then break the stream.</summary>
    public static List<TensorChunk> Chunks(torch.Tensor tensor, int chunkBytes) => TensorChunker.Split(tensor, chunkBytes).ToList();
}
