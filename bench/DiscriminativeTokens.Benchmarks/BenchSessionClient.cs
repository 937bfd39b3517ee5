using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using TorchSharp;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>The client side of one GradientSession stream, as a training worker drives it: forward, backward.</summary>
internal sealed class BenchSessionClient : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<GradientSessionRequest, GradientSessionResponse> _call;

    private BenchSessionClient(AsyncDuplexStreamingCall<GradientSessionRequest, GradientSessionResponse> call) => _call = call;

    public static async Task<BenchSessionClient> OpenAsync(DiffusionService.DiffusionServiceClient client, OpenSession open)
    {
        var session = new BenchSessionClient(client.GradientSession());
        await session._call.RequestStream.WriteAsync(new GradientSessionRequest { Open = open });
        var opened = await session.NextAsync();
        if (opened.ResponseCase != GradientSessionResponse.ResponseOneofCase.Opened)
            throw new InvalidOperationException($"Expected `opened`, got {opened}");
        return session;
    }

    /// <summary>Sends a forward and returns the reassembled image (the caller disposes it).</summary>
    public async Task<torch.Tensor> ForwardAsync(ForwardRequest request)
    {
        await _call.RequestStream.WriteAsync(new GradientSessionRequest { Forward = request });
        using var assembler = new TorchTensorAssembler();
        while (true)
        {
            var response = await NextAsync();
            switch (response.ResponseCase)
            {
                case GradientSessionResponse.ResponseOneofCase.Image:
                    assembler.Add(response.Image.Chunk);
                    if (assembler.IsComplete) return assembler.GetResult();
                    break;
                case GradientSessionResponse.ResponseOneofCase.Error:
                    throw new InvalidOperationException($"forward {request.ForwardId} failed: {response.Error.Status}");
            }
        }
    }

    /// <summary>Sends dLoss/dImage and returns dLoss/dToken.</summary>
    public async Task<WireTensor> BackwardAsync(ulong forwardId, torch.Tensor imageGradient)
    {
        using (var encoding = PooledTensorEncoding.Encode(imageGradient))
            foreach (var chunk in encoding.Split())
                await _call.RequestStream.WriteAsync(new GradientSessionRequest
                {
                    Backward = new BackwardChunk { ForwardId = forwardId, Chunk = chunk },
                });
        while (true)
        {
            var response = await NextAsync();
            switch (response.ResponseCase)
            {
                case GradientSessionResponse.ResponseOneofCase.TokenGradient:
                    return response.TokenGradient.Gradient;
                case GradientSessionResponse.ResponseOneofCase.Error:
                    throw new InvalidOperationException($"backward {forwardId} failed: {response.Error.Status}");
            }
        }
    }

    public async Task CloseAsync()
    {
        await _call.RequestStream.WriteAsync(new GradientSessionRequest { Close = new CloseSession() });
        await _call.RequestStream.CompleteAsync();
        while (await _call.ResponseStream.MoveNext(CancellationToken.None))
        {
        }
    }

    private async Task<GradientSessionResponse> NextAsync()
    {
        if (!await _call.ResponseStream.MoveNext(CancellationToken.None))
            throw new InvalidOperationException("The session stream ended.");
        return _call.ResponseStream.Current;
    }

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        return ValueTask.CompletedTask;
    }
}
