using System.Diagnostics;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using static TorchSharp.torch;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>
/// Limits with their own service processes: beyond Diffusion:MaxConcurrent callers are refused at once with
/// RESOURCE_EXHAUSTED; a session holds at most Diffusion:MaxOpenForwardsPerSession forwards; a silent session is
/// released after Diffusion:SessionIdleTimeout.
/// </summary>
[Collection(DiffusionServiceCollection.Name)]
public sealed class LimitTests(InProcessModel local)
{
    private ForwardRequest Forward(ulong id) => new()
    {
        ForwardId = id,
        Sampling = new SamplingOptions { Prompt = InProcessModel.Prompt, Steps = 2, Seed = id },
        TokenEmbedding = TensorCodec.Encode(local.Dct.Read("placeholder_embedding_init")),
    };

    private static OpenSession Open() => new() { Placeholder = InProcessModel.Placeholder, MemoryMode = MemoryMode.Recompute };

    [Fact]
    public async Task BeyondMaxConcurrentCallersGetResourceExhaustedPromptly()
    {
        await using var process = await DiffusionServiceFixture.StartAsync(
            "--Diffusion:MaxConcurrent", "1", "--Diffusion:MaxOpenForwardsPerSession", "2");
        var client = new Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient(process.Channel);

        var held = await SessionStream.OpenAsync(client, Open());
        var clock = Stopwatch.StartNew();
        var second = await Assert.ThrowsAsync<RpcException>(() => SessionStream.OpenAsync(client, Open(), 30));
        Assert.Equal(StatusCode.ResourceExhausted, second.StatusCode);
        Assert.Contains("1 gradient session and 0 generations, its limit of 1 (Diffusion:MaxConcurrent)", second.Status.Detail);

        using (var generate = client.Generate(new GenerateRequest { Sampling = new SamplingOptions { Prompt = "a cat" } },
                                              deadline: DateTime.UtcNow.AddSeconds(30)))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => generate.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"refusals took {clock.Elapsed}");

        // The held session still works, up to its forward limit.
        using (var a = await held.ForwardAsync(Forward(1))) Assert.Null(a.Error);
        using (var b = await held.ForwardAsync(Forward(2))) Assert.Null(b.Error);
        using (var c = await held.ForwardAsync(Forward(3)))
        {
            Assert.Equal((int)StatusCode.ResourceExhausted, c.Error!.Status.Code);
            Assert.Contains("already holds 2 forwards", c.Error.Status.Message);
        }
        await held.WriteAsync(new GradientSessionRequest { Release = new ReleaseForward { ForwardId = 1 } });
        using (var d = await held.ForwardAsync(Forward(3))) Assert.Null(d.Error);
        var closed = await held.CloseAsync();
        Assert.Equal(3, closed.Forwards);
        await held.DisposeAsync();

        // Its slot is free again.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await using var next = await SessionStream.OpenAsync(client, Open(), 30);
                await next.CloseAsync();
                break;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted && attempt < 50)
            {
                await Task.Delay(50);
            }
        }
    }

    [Fact]
    public async Task ASilentSessionIsReleasedAfterTheIdleTimeout()
    {
        await using var process = await DiffusionServiceFixture.StartAsync("--Diffusion:SessionIdleTimeout", "00:00:01");
        var client = new Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient(process.Channel);

        // An abandoned session: a forward made, then silence (the client keeps the connection but sends nothing).
        await using var abandoned = await SessionStream.OpenAsync(client, Open());
        using (var forward = await abandoned.ForwardAsync(Forward(1))) Assert.Null(forward.Error);
        var clock = Stopwatch.StartNew();
        var ended = await abandoned.DrainAsync();
        Assert.NotNull(ended);
        Assert.Equal(StatusCode.DeadlineExceeded, ended!.StatusCode);
        Assert.Contains("idle for longer than 00:00:01", ended.Status.Detail);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"released after {clock.Elapsed}");
        Assert.Contains("was idle for longer than 00:00:01 and was released (1 open forward(s) freed)", process.Output);

        var load = (await client.GetModelInfoAsync(new GetModelInfoRequest())).Load;
        Assert.Equal(0, load.GradientSessions);
        Assert.Equal(0, load.OpenForwards);
    }
}
