using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Training;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Xunit.Abstractions;
using static TorchSharp.torch;
using WireGradientMode = DiscriminativeTokens.Contracts.Diffusion.V1.GradientMode;
using WireLoopStyle = DiscriminativeTokens.Contracts.Diffusion.V1.SamplingLoopStyle;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>
/// Gradient sessions over gRPC: the DCT reference gradients of the sd-tiny fixture in both memory modes, the other
/// gradient modes against the in-process sampler, errors inside the stream, and release of everything on close or
/// cancellation.
/// </summary>
[Collection(DiffusionServiceCollection.Name)]
public sealed class GradientSessionTests(DiffusionServiceFixture service, InProcessModel local, ITestOutputHelper output)
{
    private const double ImageTolerance = 1e-4;
    private const double GradientTolerance = 1e-3;

    private static OpenSession ReferenceOpen(WireGradientMode mode, MemoryMode memory) => new()
    {
        Placeholder = InProcessModel.Placeholder,
        GradientMode = mode,
        MemoryMode = memory,
        LoopStyle = WireLoopStyle.Reference,
    };

    /// <summary>run.py's forward: its prompt, unpadded training tokenization, 10 PNDM steps, CFG 7 and its noise.</summary>
    private ForwardRequest ReferenceForward(ulong id) => new()
    {
        ForwardId = id,
        Sampling = new SamplingOptions
        {
            Prompt = InProcessModel.Prompt, Steps = 10, GuidanceScale = 7, Padding = PromptPadding.ReferenceUnpadded,
        },
        TokenEmbedding = TensorCodec.Encode(local.Dct.Read("placeholder_embedding_init")),
        InitialLatents = TensorCodec.Encode(local.Dct.Read("init_latent")),
    };

    [Theory]
    [InlineData("partial", WireGradientMode.Reference, MemoryMode.KeepGraph, 2)]
    [InlineData("partial", WireGradientMode.Reference, MemoryMode.Recompute, 2)]
    [InlineData("full", WireGradientMode.Full, MemoryMode.KeepGraph, 11)]
    [InlineData("full", WireGradientMode.Full, MemoryMode.Recompute, 11)]
    public async Task ReproducesTheFixturesDctGradients(string referenceMode, WireGradientMode mode, MemoryMode memory, int differentiated)
    {
        using var scope = NewDisposeScope();
        await using var session = await SessionStream.OpenAsync(service.Client, ReferenceOpen(mode, memory));
        Assert.StartsWith("gs-", session.Opened.SessionId);
        Assert.Equal(32, session.Opened.Model.TextHiddenSize);
        Assert.Equal(mode == WireGradientMode.Full ? 31 : 2, session.Opened.DifferentiatedCallsAtDefaultSteps);

        using var forward = await session.ForwardAsync(ReferenceForward(7));
        Assert.Null(forward.Error);
        Assert.Equal(Enumerable.Range(1, 11), forward.Progress.Select(p => p.Step));
        Assert.All(forward.Progress, p => Assert.Equal(11, p.TotalSteps));
        Assert.Empty(forward.Warnings);
        Parity.AssertClose(forward.Image!, local.Dct.Read("conv/image"), ImageTolerance, "conv/image");

        var info = await service.Client.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.Equal(1, info.Load.GradientSessions);
        Assert.Equal(1, info.Load.OpenForwards);

        // Small chunks: the gradient crosses as 12 pieces.
        var (gradient, error) = await session.BackwardAsync(7, local.Dct.Read($"conv/{referenceMode}/grad_image"), chunkBytes: 1024);
        Assert.Null(error);
        Assert.Equal(differentiated, gradient!.DifferentiatedCalls);
        Assert.Equal([32L], gradient.Gradient.Shape);
        using var actual = TensorCodec.Decode(gradient.Gradient);
        var expected = local.Dct.Read($"conv/{referenceMode}/grad_placeholder_embedding").reshape(-1);
        double maxRef = Parity.MaxAbs(expected), errorAbs = Parity.MaxAbsError(actual, expected);
        output.WriteLine($"{referenceMode}/{memory}: max abs error {errorAbs:E3}, max |ref| {maxRef:E3}, relative {errorAbs / maxRef:E3}");
        Assert.True(errorAbs <= GradientTolerance * Math.Max(1, maxRef), $"error {errorAbs:E3}");
        // The references are 1e-7..1e-3 in size: only a relative bound tells a right gradient from a zero one.
        Assert.True(errorAbs <= GradientTolerance * maxRef, $"relative error {errorAbs / maxRef:E3}");

        var closed = await session.CloseAsync();
        Assert.Equal(1, closed.Forwards);
        Assert.Equal(1, closed.Backwards);
        await AssertIdleAsync();
    }

    [Fact]
    public async Task LastKWithSeededNoiseAndTheProperLoopMatchesTheInProcessSampler()
    {
        using var scope = NewDisposeScope();
        var open = new OpenSession
        {
            Placeholder = InProcessModel.Placeholder, GradientMode = WireGradientMode.LastK, LastKCalls = 3,
            MemoryMode = MemoryMode.Recompute, MaxChunkBytes = 1000,
        };
        await using var session = await SessionStream.OpenAsync(service.Client, open);
        Assert.Equal(3, session.Opened.DifferentiatedCallsAtDefaultSteps);
        var vector = local.Dct.Read("placeholder_embedding_init").reshape(-1);
        var request = new ForwardRequest
        {
            ForwardId = 1,
            Sampling = new SamplingOptions { Prompt = "a close-up photo of a newclas", Seed = 35, Steps = 4, Scheduler = "euler", Width = 24 },
            TokenEmbedding = TensorCodec.Encode(vector),
        };
        using var forward = await session.ForwardAsync(request);
        Assert.Null(forward.Error);
        Assert.Equal(10, forward.ImageChunks); // 3x32x24 float32 = 9216 bytes in chunks of at most 1000
        Assert.Equal([1L, 3, 32, 24], forward.Image!.shape);
        var imageGradient = randn([1, 3, 32, 24], generator: new Generator(1));
        var (gradient, error) = await session.BackwardAsync(1, imageGradient);
        Assert.Null(error);
        Assert.Equal(3, gradient!.DifferentiatedCalls);

        var sampler = new TokenGradientSampler(local.Model);
        using var expectedForward = sampler.Forward(new TokenGradientOptions
        {
            Prompt = "a close-up photo of a newclas", Placeholder = InProcessModel.Placeholder, Seed = 35, Steps = 4,
            Scheduler = "euler", Width = 24, GradientMode = Diffusion.Training.GradientMode.LastK(3),
            MemoryMode = GradientMemoryMode.Recompute, LoopStyle = Diffusion.Training.SamplingLoopStyle.Proper,
            Padding = PromptPaddingMode.MaxLength,
        }, vector);
        Parity.AssertClose(forward.Image, expectedForward.Image, ImageTolerance, "image");
        using var expectedGradient = sampler.Backward(expectedForward, imageGradient);
        using var actual = TensorCodec.Decode(gradient.Gradient);
        Assert.True(Parity.MaxAbs(expectedGradient.Gradient) > 0);
        Assert.True(Parity.MaxAbsError(actual, expectedGradient.Gradient) <= 1e-4 * Parity.MaxAbs(expectedGradient.Gradient));
        await session.CloseAsync();
    }

    [Fact]
    public async Task ABadRequestIsASessionErrorAndTheSessionGoesOn()
    {
        using var scope = NewDisposeScope();
        await using var session = await SessionStream.OpenAsync(service.Client,
            ReferenceOpen(WireGradientMode.Reference, MemoryMode.Recompute));

        async Task ExpectForwardError(ForwardRequest request, StatusCode code, string message)
        {
            using var outcome = await session.ForwardAsync(request);
            Assert.NotNull(outcome.Error);
            Assert.Equal((int)code, outcome.Error!.Status.Code);
            Assert.Contains(message, outcome.Error.Status.Message);
        }

        var noPlaceholder = ReferenceForward(1);
        noPlaceholder.Sampling.Prompt = "A photo of a cat";
        await ExpectForwardError(noPlaceholder, StatusCode.InvalidArgument, "does not contain the placeholder \"newclas\"");
        var wrongSize = ReferenceForward(1);
        wrongSize.TokenEmbedding = TensorCodec.Encode(zeros(16));
        await ExpectForwardError(wrongSize, StatusCode.InvalidArgument, "send shape [32] or [1, 32]");
        var nan = ReferenceForward(1);
        nan.TokenEmbedding = TensorCodec.Encode(full(32, float.NaN));
        await ExpectForwardError(nan, StatusCode.InvalidArgument, "NaN");
        var badSteps = ReferenceForward(1);
        badSteps.Sampling.Steps = 1000;
        await ExpectForwardError(badSteps, StatusCode.InvalidArgument, "steps = 1000 is out of range");
        var badLatents = ReferenceForward(1);
        badLatents.InitialLatents = TensorCodec.Encode(zeros(1, 3, 16, 16));
        await ExpectForwardError(badLatents, StatusCode.InvalidArgument, "send [1, 4, height / 2, width / 2]");
        var disagreeing = ReferenceForward(1);
        disagreeing.Sampling.Width = 64;
        await ExpectForwardError(disagreeing, StatusCode.InvalidArgument, "disagrees with the initial latents");
        await ExpectForwardError(ReferenceForward(0), StatusCode.InvalidArgument, "forward_id must be at least 1");

        // A prompt over 77 tokens is truncated with a warning, not refused (the placeholder comes early enough to stay).
        var longPrompt = ReferenceForward(2);
        longPrompt.Sampling.Prompt = InProcessModel.Prompt + string.Concat(Enumerable.Repeat(" and a red ball", 30));
        longPrompt.Sampling.Padding = PromptPadding.MaxLength;
        using (var truncated = await session.ForwardAsync(longPrompt))
        {
            Assert.Null(truncated.Error);
            Assert.Contains("longer than 77 tokens", Assert.Single(truncated.Warnings));
        }
        await session.WriteAsync(new GradientSessionRequest { Release = new ReleaseForward { ForwardId = 2 } });

        // After all that, a good forward works.
        using (var good = await session.ForwardAsync(ReferenceForward(1)))
            Assert.Null(good.Error);
        await ExpectForwardError(ReferenceForward(1), StatusCode.InvalidArgument, "forward_id 1 is already held");

        // A gradient of the wrong shape, dtype or with NaN is refused and the forward is kept for a good one.
        var (none, wrongShape) = await session.BackwardAsync(1, zeros(1, 3, 16, 16));
        Assert.Null(none);
        Assert.Equal((int)StatusCode.InvalidArgument, wrongShape!.Status.Code);
        Assert.Contains("must have the image's shape [1, 3, 32, 32]", wrongShape.Status.Message);
        var (_, nanGradient) = await session.BackwardAsync(1, full(1, 3, 32, 32, float.NaN), chunkBytes: 4096);
        Assert.Contains("NaN", nanGradient!.Status.Message);
        var (_, intGradient) = await session.BackwardAsync(1, zeros([1, 3, 32, 32], ScalarType.Int32));
        Assert.Contains("send float32", intGradient!.Status.Message);

        // Chunks of one gradient interrupted by another request: refused, the forward is kept.
        using (var encoding = PooledTensorEncoding.Encode(local.Dct.Read("conv/partial/grad_image")))
        {
            var first = encoding.Split(4096).First();
            await session.WriteAsync(new GradientSessionRequest { Backward = new BackwardChunk { ForwardId = 1, Chunk = first } });
        }
        await session.WriteAsync(new GradientSessionRequest { Release = new ReleaseForward { ForwardId = 99 } });
        var interrupted = await session.ReadErrorAsync(1);
        Assert.Contains("stopped after 4096 of 12288 bytes", interrupted.Status.Message);

        var (gradient, error) = await session.BackwardAsync(1, local.Dct.Read("conv/partial/grad_image"));
        Assert.Null(error);
        Assert.Equal(2, gradient!.DifferentiatedCalls);

        // One backward per forward: the forward is gone now.
        var (_, again) = await session.BackwardAsync(1, local.Dct.Read("conv/partial/grad_image"));
        Assert.Equal((int)StatusCode.FailedPrecondition, again!.Status.Code);
        Assert.Contains("holds no forward 1", again.Status.Message);

        // A second open on the same stream concerns the session (id 0).
        await session.WriteAsync(new GradientSessionRequest { Open = ReferenceOpen(WireGradientMode.Full, MemoryMode.KeepGraph) });
        var reopen = await session.ReadErrorAsync(0);
        Assert.Equal((int)StatusCode.FailedPrecondition, reopen.Status.Code);

        var closed = await session.CloseAsync();
        Assert.Equal(2, closed.Forwards);
        Assert.Equal(1, closed.Backwards);
        await AssertIdleAsync();
        await service.AssertStillServingAsync();
    }

    public static TheoryData<string, OpenSession, string> BadOpens() => new()
    {
        { "no placeholder", new OpenSession(), "open.placeholder is empty" },
        { "placeholder that is a word", new OpenSession { Placeholder = "cat" }, "already a single token" },
        { "last k of zero", new OpenSession { Placeholder = "newclas", GradientMode = WireGradientMode.LastK }, "open.last_k_calls = 0" },
        { "last k without LAST_K", new OpenSession { Placeholder = "newclas", LastKCalls = 2 }, "only used with GRADIENT_MODE_LAST_K" },
        { "unknown gradient mode", new OpenSession { Placeholder = "newclas", GradientMode = (WireGradientMode)9 }, "open.gradient_mode = 9" },
        { "unknown memory mode", new OpenSession { Placeholder = "newclas", MemoryMode = (MemoryMode)9 }, "open.memory_mode = 9" },
        { "unknown loop style", new OpenSession { Placeholder = "newclas", LoopStyle = (WireLoopStyle)9 }, "open.loop_style = 9" },
        { "chunks too large", new OpenSession { Placeholder = "newclas", MaxChunkBytes = 8 << 20 }, "open.max_chunk_bytes = 8388608 is out of range" },
    };

    [Theory]
    [MemberData(nameof(BadOpens))]
    public async Task ABadOpenFailsTheCallWithInvalidArgument(string problem, OpenSession open, string expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => SessionStream.OpenAsync(service.Client, open, 30));
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{problem}: {error.StatusCode} {error.Status.Detail}");
        Assert.Contains(expected, error.Status.Detail);
        await service.AssertStillServingAsync();
    }

    [Fact]
    public async Task AStreamThatDoesNotStartWithOpenIsRefused()
    {
        using var call = service.Client.GradientSession(deadline: DiffusionServiceFixture.Deadline(30));
        await call.RequestStream.WriteAsync(new GradientSessionRequest { Forward = ReferenceForward(1) });
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("must be `open`, not `forward`", error.Status.Detail);
    }

    [Fact]
    public async Task CancellingTheStreamFreesTheSessionAndItsForwards()
    {
        var session = await SessionStream.OpenAsync(service.Client, ReferenceOpen(WireGradientMode.Full, MemoryMode.KeepGraph));
        using (var forward = await session.ForwardAsync(ReferenceForward(3)))
            Assert.Null(forward.Error);
        var busy = await service.Client.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.Equal(1, busy.Load.OpenForwards);
        await session.DisposeAsync(); // cancels the call
        await AssertIdleAsync();
    }

    [Fact]
    public async Task ASessionNeverChangesTheModelsWeights()
    {
        var generate = new GenerateRequest { Sampling = new SamplingOptions { Prompt = "a photo of a cat", Seed = 3, Steps = 3 } };
        using var before = await GenerateCalls.RunAsync(service.Client, generate);
        await using (var session = await SessionStream.OpenAsync(service.Client, ReferenceOpen(WireGradientMode.Full, MemoryMode.KeepGraph)))
        {
            using (var forward = await session.ForwardAsync(ReferenceForward(1))) Assert.Null(forward.Error);
            var (gradient, _) = await session.BackwardAsync(1, local.Dct.Read("conv/full/grad_image"));
            Assert.NotNull(gradient);
            await session.CloseAsync();
        }
        using var after = await GenerateCalls.RunAsync(service.Client, generate);
        Assert.Equal(0.0, Parity.MaxAbsError(after.Images[0].Image, before.Images[0].Image));
    }

    /// <summary>No session, generation or forward is left (the release after a stream ends is asynchronous).</summary>
    private async Task AssertIdleAsync()
    {
        ModelInfo.Types.Load load = new();
        for (int i = 0; i < 100; i++)
        {
            load = (await service.Client.GetModelInfoAsync(new GetModelInfoRequest())).Load;
            if (load.GradientSessions == 0 && load.OpenForwards == 0 && load.Generations == 0) return;
            await Task.Delay(50);
        }
        Assert.Fail($"Still busy: {load}");
    }
}
