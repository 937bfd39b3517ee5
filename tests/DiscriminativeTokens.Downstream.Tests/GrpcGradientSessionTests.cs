using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Downstream;

namespace DiscriminativeTokens.Downstream.Tests;

/// <summary>
/// The gradient session over its bidirectional stream: overlapping operations on one session, errors about one
/// forward that leave the session usable, and a stream that breaks under pending and later operations.
/// </summary>
[Collection(DownstreamCollection.Name)]
public sealed class GrpcGradientSessionTests(DownstreamFixture fixture)
{
    private GrpcDiffusionBackend Diffusion() => new("default", fixture.Diffusion.Address);

    [Fact]
    public async Task ForwardOfTheNextIdRunsWhileTheBackwardOfTheCurrentOneIsInFlight()
    {
        using var diffusion = Diffusion();
        using var classifier = new GrpcClassifierBackend("vit-tiny", fixture.Classifier.Address);
        float[] token = await diffusion.GetTokenEmbeddingAsync("a", CancellationToken.None);
        var options = DownstreamFixture.SessionOptions();
        await using var session = await diffusion.OpenGradientSessionAsync(options, CancellationToken.None);

        var first = await session.ForwardAsync(new ForwardRequest(1, DownstreamFixture.Sampling(seed: 35), token, null), CancellationToken.None);
        var loss = await classifier.LossAndGradientAsync(first.Image, DownstreamFixture.TargetClass, CancellationToken.None);
        // Backward 1 and forward 2 from different tasks at once, as the training loop overlaps them.
        var backward = Task.Run(() => session.BackwardAsync(1, loss.ImageGradient, CancellationToken.None));
        var second = Task.Run(() => session.ForwardAsync(new ForwardRequest(2, DownstreamFixture.Sampling(seed: 36), token, null),
                                                         CancellationToken.None));
        await Task.WhenAll(backward, second);
        var gradient1 = await backward;
        var forward2 = await second;

        Assert.Equal(1UL, gradient1.ForwardId);
        Assert.Equal(2UL, forward2.ForwardId);
        Assert.Equal([1L, 3, 32, 32], forward2.Image.Shape);
        Assert.NotEqual(first.Image.Values, forward2.Image.Values);
        var expected = fixture.MicroStepInProcess(DownstreamFixture.Sampling(seed: 35), options, token);
        double scale = expected.TokenGradient.Max(v => Math.Abs((double)v));
        double error = expected.TokenGradient.Zip(gradient1.Gradient, (a, b) => Math.Abs((double)a - b)).Max();
        Assert.True(scale > 0 && error <= 1e-5 * scale, $"dLoss/dToken of forward 1: max abs error {error:E3}, scale {scale:E3}");

        // Forward 2 is still held by the service: its backward works too.
        var loss2 = await classifier.LossAndGradientAsync(forward2.Image, DownstreamFixture.TargetClass, CancellationToken.None);
        var gradient2 = await session.BackwardAsync(2, loss2.ImageGradient, CancellationToken.None);
        Assert.Equal(2UL, gradient2.ForwardId);
        Assert.Equal(32, gradient2.Gradient.Length);
    }

    [Fact]
    public async Task APromptWithoutThePlaceholderFailsThatForwardOnlyAsAnInvalidRequest()
    {
        using var diffusion = Diffusion();
        float[] token = await diffusion.GetTokenEmbeddingAsync("a", CancellationToken.None);
        await using var session = await diffusion.OpenGradientSessionAsync(DownstreamFixture.SessionOptions(), CancellationToken.None);

        var bad = DownstreamFixture.Sampling(prompt: "a photo of a tiger cat");
        var error = await Assert.ThrowsAsync<BackendException>(() =>
            session.ForwardAsync(new ForwardRequest(1, bad, token, null), CancellationToken.None));
        Assert.Equal(BackendFailure.InvalidRequest, error.Failure);
        Assert.False(error.IsTransient);
        Assert.Contains("does not contain the placeholder \"newclas\"", error.Message);
        Assert.Contains("INVALID_ARGUMENT", error.Message);
        Assert.Contains(fixture.Diffusion.Address, error.Message);

        // The session goes on, and the failed id is free again.
        var good = await session.ForwardAsync(new ForwardRequest(1, DownstreamFixture.Sampling(), token, null), CancellationToken.None);
        Assert.Equal([1L, 3, 32, 32], good.Image.Shape);
        await session.ReleaseAsync(1, CancellationToken.None);
        var released = await Assert.ThrowsAsync<BackendException>(() =>
            session.BackwardAsync(1, good.Image, CancellationToken.None));
        Assert.Equal(BackendFailure.Precondition, released.Failure);
        Assert.Contains("holds no forward 1", released.Message);
    }

    [Fact]
    public async Task ACancelledForwardIsFreedOnTheServiceAndTheSessionGoesOn()
    {
        using var diffusion = Diffusion();
        float[] token = await diffusion.GetTokenEmbeddingAsync("a", CancellationToken.None);
        var session = await diffusion.OpenGradientSessionAsync(DownstreamFixture.SessionOptions(), CancellationToken.None);

        // Seconds of work here (40 steps at 64x64), far more than the 200 ms before the cancellation.
        var slow = new SamplingSettings("a photo of newclas cat", 1, 40, 7, 64, 64, null, PromptPadding.MaxLength);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            session.ForwardAsync(new ForwardRequest(1, slow, token, null), cancel.Token));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"the cancellation took {watch.Elapsed}");

        // The client released forward 1 (the service frees it once it is done) and the id is free again at once: the
        // late 64x64 image of the cancelled forward must not be taken for the new forward's 32x32 one.
        var again = await session.ForwardAsync(new ForwardRequest(1, DownstreamFixture.Sampling(), token, null), CancellationToken.None);
        Assert.Equal([1L, 3, 32, 32], again.Image.Shape);

        await session.DisposeAsync();
        var closed = await Assert.ThrowsAsync<BackendException>(() =>
            session.ForwardAsync(new ForwardRequest(2, DownstreamFixture.Sampling(), token, null), CancellationToken.None));
        Assert.Equal(BackendFailure.Precondition, closed.Failure);
        Assert.Contains("was disposed; open a new one", closed.Message);
    }

    [Fact]
    public async Task AKilledServiceFailsThePendingAndEveryLaterOperationAsTransient()
    {
        await using var service = await Services.StartDiffusionAsync();
        using var diffusion = new GrpcDiffusionBackend("doomed", service.Address);
        float[] token = await diffusion.GetTokenEmbeddingAsync("a", CancellationToken.None);
        var session = await diffusion.OpenGradientSessionAsync(DownstreamFixture.SessionOptions(), CancellationToken.None);
        var done = await session.ForwardAsync(new ForwardRequest(1, DownstreamFixture.Sampling(), token, null), CancellationToken.None);

        // A forward long enough to be still running when the process dies (250 steps at 256x256 take seconds here).
        var slow = new SamplingSettings("a photo of newclas cat", 1, 250, 7, 256, 256, null, PromptPadding.MaxLength);
        var pending = session.ForwardAsync(new ForwardRequest(2, slow, token, null), CancellationToken.None);
        await Task.Delay(500);
        Assert.False(pending.IsCompleted, "the slow forward finished before the kill; make it slower");
        await service.KillAsync();
        Assert.NotNull(service.ExitCode);

        var broken = await Assert.ThrowsAsync<BackendException>(() => pending);
        Assert.Equal(BackendFailure.Transient, broken.Failure);
        Assert.Contains("forward 2", broken.Message);
        Assert.Equal("doomed", broken.Service);

        var later = await Assert.ThrowsAsync<BackendException>(() => session.BackwardAsync(1, done.Image, CancellationToken.None));
        Assert.Equal(BackendFailure.Transient, later.Failure);
        Assert.Contains("session stream broke", later.Message);
        var afterwards = await Assert.ThrowsAsync<BackendException>(() =>
            session.ForwardAsync(new ForwardRequest(3, DownstreamFixture.Sampling(), token, null), CancellationToken.None));
        Assert.True(afterwards.IsTransient);

        await session.DisposeAsync(); // never throws, even on a dead stream
        await session.DisposeAsync();
        var reopen = await Assert.ThrowsAsync<BackendException>(() =>
            diffusion.OpenGradientSessionAsync(DownstreamFixture.SessionOptions(), CancellationToken.None));
        Assert.True(reopen.IsTransient, reopen.Message);
    }
}
