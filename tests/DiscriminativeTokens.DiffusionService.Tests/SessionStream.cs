using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using static TorchSharp.torch;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>What a forward produced, as the client saw it: progress, warnings, then the image or an error.</summary>
public sealed class ForwardOutcome : IDisposable
{
    public List<ForwardProgress> Progress { get; } = [];
    public List<string> Warnings { get; } = [];
    public Tensor? Image { get; set; }
    public int ImageChunks { get; set; }
    public SessionError? Error { get; set; }

    public void Dispose() => Image?.Dispose();
}

/// <summary>A .NET client's side of one GradientSession stream, driven request by request.</summary>
public sealed class SessionStream : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<GradientSessionRequest, GradientSessionResponse> _call;

    private SessionStream(AsyncDuplexStreamingCall<GradientSessionRequest, GradientSessionResponse> call) => _call = call;

    public SessionOpened Opened { get; private set; } = null!;

    /// <summary>Responses that were not the awaited kind (e.g. errors about other forwards), in arrival order.</summary>
    public List<GradientSessionResponse> Other { get; } = [];

    public static async Task<SessionStream> OpenAsync(
        Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient client, OpenSession open, int timeoutSeconds = 600)
    {
        var stream = new SessionStream(client.GradientSession(deadline: DateTime.UtcNow.AddSeconds(timeoutSeconds)));
        try
        {
            await stream.WriteAsync(new GradientSessionRequest { Open = open });
            var first = await stream.NextAsync();
            Assert.Equal(GradientSessionResponse.ResponseOneofCase.Opened, first.ResponseCase);
            stream.Opened = first.Opened;
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    public Task WriteAsync(GradientSessionRequest request) => _call.RequestStream.WriteAsync(request);

    public async Task<GradientSessionResponse> NextAsync()
    {
        if (!await _call.ResponseStream.MoveNext(CancellationToken.None))
            throw new InvalidOperationException("The session stream ended.");
        return _call.ResponseStream.Current;
    }

    /// <summary>Sends a forward and reads until its image is complete or an error about it arrives.</summary>
    public async Task<ForwardOutcome> ForwardAsync(ForwardRequest request)
    {
        await WriteAsync(new GradientSessionRequest { Forward = request });
        return await ReadForwardAsync(request.ForwardId);
    }

    public async Task<ForwardOutcome> ReadForwardAsync(ulong id)
    {
        var outcome = new ForwardOutcome();
        using var assembler = new TorchTensorAssembler();
        while (true)
        {
            var response = await NextAsync();
            switch (response.ResponseCase)
            {
                case GradientSessionResponse.ResponseOneofCase.Progress when response.Progress.ForwardId == id:
                    outcome.Progress.Add(response.Progress);
                    break;
                case GradientSessionResponse.ResponseOneofCase.Warning when response.Warning.ForwardId == id:
                    outcome.Warnings.Add(response.Warning.Message);
                    break;
                case GradientSessionResponse.ResponseOneofCase.Error when response.Error.ForwardId == id:
                    outcome.Error = response.Error;
                    return outcome;
                case GradientSessionResponse.ResponseOneofCase.Image when response.Image.ForwardId == id:
                    assembler.Add(response.Image.Chunk);
                    outcome.ImageChunks++;
                    if (assembler.IsComplete)
                    {
                        outcome.Image = assembler.GetResult().DetachFromDisposeScope();
                        return outcome;
                    }
                    break;
                default:
                    Other.Add(response);
                    break;
            }
        }
    }

    /// <summary>Sends dLoss/dImage as chunks.</summary>
    public async Task SendGradientAsync(ulong id, Tensor gradient, int chunkBytes = 1 << 20)
    {
        using var encoding = PooledTensorEncoding.Encode(gradient);
        foreach (var chunk in encoding.Split(chunkBytes))
            await WriteAsync(new GradientSessionRequest { Backward = new BackwardChunk { ForwardId = id, Chunk = chunk } });
    }

    /// <summary>Sends dLoss/dImage and reads until the token gradient or an error about this forward.</summary>
    public async Task<(TokenGradient? Gradient, SessionError? Error)> BackwardAsync(ulong id, Tensor gradient, int chunkBytes = 1 << 20)
    {
        await SendGradientAsync(id, gradient, chunkBytes);
        return await ReadBackwardAsync(id);
    }

    public async Task<(TokenGradient? Gradient, SessionError? Error)> ReadBackwardAsync(ulong id)
    {
        while (true)
        {
            var response = await NextAsync();
            if (response.ResponseCase == GradientSessionResponse.ResponseOneofCase.TokenGradient && response.TokenGradient.ForwardId == id)
                return (response.TokenGradient, null);
            if (response.ResponseCase == GradientSessionResponse.ResponseOneofCase.Error && response.Error.ForwardId == id)
                return (null, response.Error);
            Other.Add(response);
        }
    }

    /// <summary>Reads until an error about <paramref name="id"/> (0 = the session).</summary>
    public async Task<SessionError> ReadErrorAsync(ulong id)
    {
        while (true)
        {
            var response = await NextAsync();
            if (response.ResponseCase == GradientSessionResponse.ResponseOneofCase.Error && response.Error.ForwardId == id)
                return response.Error;
            Other.Add(response);
        }
    }

    /// <summary>Sends close; returns the closing counts after checking that the stream then ends.</summary>
    public async Task<SessionClosed> CloseAsync()
    {
        await WriteAsync(new GradientSessionRequest { Close = new CloseSession() });
        await _call.RequestStream.CompleteAsync();
        while (true)
        {
            var response = await NextAsync();
            if (response.ResponseCase != GradientSessionResponse.ResponseOneofCase.Closed)
            {
                Other.Add(response);
                continue;
            }
            Assert.False(await _call.ResponseStream.MoveNext(CancellationToken.None));
            return response.Closed;
        }
    }

    /// <summary>The call's final status once the response stream has ended (or failed).</summary>
    public async Task<RpcException?> DrainAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(CancellationToken.None))
                Other.Add(_call.ResponseStream.Current);
            return null;
        }
        catch (RpcException e)
        {
            return e;
        }
    }

    public ValueTask DisposeAsync()
    {
        _call.Dispose();
        return ValueTask.CompletedTask;
    }
}
