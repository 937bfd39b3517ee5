using System.Diagnostics;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Downstream;
using DiscriminativeTokens.Testing;
using Polly.CircuitBreaker;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Downstream.Tests;

/// <summary>
/// Failure classification and the per-service circuit breaker against services that are absent, killed and
/// restarted. Break durations are short (1–2 s) so the tests take seconds.
/// </summary>
public sealed class ResilienceTests
{
    private static readonly DownstreamOptions Quick = new()
    {
        InfoTimeout = TimeSpan.FromSeconds(5),
        MinimumThroughput = 2,
        FailureRatio = 0.5,
        SamplingDuration = TimeSpan.FromSeconds(30),
        BreakDuration = TimeSpan.FromSeconds(2),
    };

    [Fact]
    public async Task AServiceThatIsNotRunningIsATransientFailureNamingItsAddress()
    {
        string address = $"http://127.0.0.1:{ServiceProcess.FreeLoopbackPort()}";
        using var classifier = new GrpcClassifierBackend("audit", address);
        var error = await Assert.ThrowsAsync<BackendException>(() => classifier.GetInfoAsync(CancellationToken.None));
        Assert.Equal(BackendFailure.Transient, error.Failure);
        Assert.Equal("audit", error.Service);
        Assert.Contains(address, error.Message);
        Assert.Contains("classifier service", error.Message);

        using var diffusion = new GrpcDiffusionBackend("default", address);
        var session = await Assert.ThrowsAsync<BackendException>(() =>
            diffusion.OpenGradientSessionAsync(DownstreamFixture.SessionOptions(), CancellationToken.None));
        Assert.True(session.IsTransient, session.Message);
    }

    [Fact]
    public async Task AfterEnoughTransientFailuresTheCircuitOpensAndCallsFailFast()
    {
        string address = $"http://127.0.0.1:{ServiceProcess.FreeLoopbackPort()}";
        using var classifier = new GrpcClassifierBackend("audit", address, Quick);
        for (int i = 0; i < Quick.MinimumThroughput; i++)
        {
            var failure = await Assert.ThrowsAsync<BackendException>(() => classifier.GetInfoAsync(CancellationToken.None));
            Assert.IsNotType<BrokenCircuitException>(failure.InnerException);
        }

        var start = Stopwatch.GetTimestamp();
        var open = await Assert.ThrowsAsync<BackendException>(() => classifier.GetInfoAsync(CancellationToken.None));
        var elapsed = Stopwatch.GetElapsedTime(start);
        Assert.Equal(BackendFailure.Transient, open.Failure);
        Assert.IsType<BrokenCircuitException>(open.InnerException);
        Assert.Contains("circuit breaker for the classifier service at " + address + " is open", open.Message);
        Assert.Contains("calls fail at once until", open.Message);
        Assert.Contains("UNAVAILABLE", open.Message); // the failure that opened it
        // The BrokenCircuitException above is the proof that no call went out; the time only guards against a call
        // waiting for its deadline (InfoTimeout, 5 s), with room for a busy CI machine.
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"an open circuit took {elapsed.TotalMilliseconds:F0} ms to refuse");

        // Another backend (another downstream service) has its own breaker, still closed.
        using var other = new GrpcClassifierBackend("other", address, Quick);
        var closed = await Assert.ThrowsAsync<BackendException>(() => other.GetInfoAsync(CancellationToken.None));
        Assert.IsNotType<BrokenCircuitException>(closed.InnerException);
    }

    [Fact]
    public async Task RequestErrorsDoNotOpenTheCircuit()
    {
        await using var service = await Services.StartClassifierAsync();
        using var classifier = new GrpcClassifierBackend("vit-tiny", service.Address, Quick);
        using var scope = NewDisposeScope();
        var image = DownstreamFixture.ToData(rand([1, 3, 32, 32]));
        for (int i = 0; i < 4; i++)
        {
            var refused = await Assert.ThrowsAsync<BackendException>(() => classifier.LossAndGradientAsync(image, 99, CancellationToken.None));
            Assert.Equal(BackendFailure.InvalidRequest, refused.Failure);
            Assert.Contains("Target class id 99", refused.Message);
        }
        var loss = await classifier.LossAndGradientAsync(image, 1, CancellationToken.None);
        Assert.True(loss.Loss > 0);
    }

    [Fact]
    public async Task AClassifierKilledAndRestartedOnTheSamePortIsServedAgainAfterTheBreak()
    {
        int port = ServiceProcess.FreeLoopbackPort();
        using var scope = NewDisposeScope();
        var image = DownstreamFixture.ToData(rand([1, 3, 32, 32], generator: new Generator(3)));
        using var inProcess = Services.LoadClassifierInProcess();
        using var expected = inProcess.LossAndGradient(DownstreamFixture.ToTensor(image), [2]);

        var service = await Services.StartClassifierAsync(port);
        using var classifier = new GrpcClassifierBackend("vit-tiny", $"http://127.0.0.1:{port}", Quick);
        try
        {
            var before = await classifier.LossAndGradientAsync(image, 2, CancellationToken.None);
            Assert.Equal(expected.Losses[0], before.Loss, 1e-6);

            await service.KillAsync();
            Assert.NotNull(service.ExitCode);
            await service.DisposeAsync();
            for (int i = 0; i < Quick.MinimumThroughput; i++)
            {
                var down = await Assert.ThrowsAsync<BackendException>(() => classifier.LossAndGradientAsync(image, 2, CancellationToken.None));
                Assert.Equal(BackendFailure.Transient, down.Failure);
            }
            var open = await Assert.ThrowsAsync<BackendException>(() => classifier.LossAndGradientAsync(image, 2, CancellationToken.None));
            Assert.IsType<BrokenCircuitException>(open.InnerException);

            service = await Services.StartClassifierAsync(port);
            await Task.Delay(Quick.BreakDuration); // at least one break since the circuit opened
            var after = await classifier.LossAndGradientAsync(image, 2, CancellationToken.None);
            Assert.Equal(expected.Losses[0], after.Loss, 1e-6);
            Assert.Equal(expected.PredictedClassIds[0], after.PredictedClassId);
            var info = await classifier.GetInfoAsync(CancellationToken.None);
            Assert.Equal(10, info.NumClasses);
        }
        finally
        {
            await service.DisposeAsync();
        }
    }
}
