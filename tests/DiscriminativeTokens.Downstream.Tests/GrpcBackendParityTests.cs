using System.Diagnostics;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Downstream;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Downstream.Tests;

/// <summary>
/// A micro-step through the gRPC backends (diffusion forward, classifier loss and dImage, diffusion backward) equals
/// the same micro-step with the domain code in this process. Both sides run the same code on the same CPU with one
/// LibTorch thread for diffusion, so the expected difference is zero; the stated tolerances (image 1e-6 absolute,
/// loss and probability 1e-6, gradients 1e-5 relative to their largest element) only allow for the classifier
/// service's own thread count.
/// </summary>
[Collection(DownstreamCollection.Name)]
public sealed class GrpcBackendParityTests(DownstreamFixture fixture, ITestOutputHelper output)
{
    private const double ImageTolerance = 1e-6;
    private const double ScalarTolerance = 1e-6;
    private const double RelativeGradientTolerance = 1e-5;

    private GrpcDiffusionBackend Diffusion() => new("default", fixture.Diffusion.Address);
    private GrpcClassifierBackend Classifier() => new("vit-tiny", fixture.Classifier.Address);

    [Fact]
    public async Task ModelInfoAndTokenEmbeddingMatchTheLoadedModel()
    {
        using var diffusion = Diffusion();
        var info = await diffusion.GetModelInfoAsync(CancellationToken.None);
        Assert.Equal("sd-tiny", info.ModelId);
        Assert.Equal(32, info.TextHiddenSize);
        Assert.Equal(fixture.Engine.Model.TextEncoderSha256, info.TextEncoderSha256);
        Assert.Equal(250, info.MaxSteps);
        Assert.Equal(["pndm", "ddim", "euler", "dpmpp2m"], info.AvailableSchedulers);

        var embedding = await diffusion.GetTokenEmbeddingAsync("a", CancellationToken.None);
        Assert.Equal(TokenEmbeddingLookup.Lookup(fixture.Engine.Model, "a").Embedding, embedding);

        var refused = await Assert.ThrowsAsync<BackendException>(() => diffusion.GetTokenEmbeddingAsync("tiger cat", CancellationToken.None));
        Assert.Equal(BackendFailure.InvalidRequest, refused.Failure);
        Assert.Contains("\"tiger cat\" is 2 tokens", refused.Message);
        Assert.Contains(fixture.Diffusion.Address, refused.Message);
        Assert.Equal("default", refused.Service);
    }

    [Theory]
    [InlineData(SessionMemoryMode.Recompute)]
    [InlineData(SessionMemoryMode.KeepGraph)]
    public async Task AMicroStepOverGrpcEqualsTheInProcessMicroStep(SessionMemoryMode memory)
    {
        using var diffusion = Diffusion();
        using var classifier = Classifier();
        float[] token = await diffusion.GetTokenEmbeddingAsync("a", CancellationToken.None);
        var sampling = DownstreamFixture.Sampling();
        var options = DownstreamFixture.SessionOptions(memory);

        await using var session = await diffusion.OpenGradientSessionAsync(options, CancellationToken.None);
        var forward = await session.ForwardAsync(new ForwardRequest(1, sampling, token, null), CancellationToken.None);
        var loss = await classifier.LossAndGradientAsync(forward.Image, DownstreamFixture.TargetClass, CancellationToken.None);
        var gradient = await session.BackwardAsync(1, loss.ImageGradient, CancellationToken.None);

        var expected = fixture.MicroStepInProcess(sampling, options, token);
        Assert.Equal(1UL, forward.ForwardId);
        Assert.Empty(forward.Warnings);
        Assert.Equal([1L, 3, 32, 32], forward.Image.Shape);
        AssertClose(expected.Image, forward.Image, ImageTolerance, "image");
        Assert.Equal(expected.Loss, loss.Loss, ScalarTolerance);
        Assert.Equal(expected.TargetProbability, loss.TargetProbability, ScalarTolerance);
        Assert.Equal(expected.Predicted, loss.PredictedClassId);
        AssertRelativelyClose(expected.ImageGradient.Values, loss.ImageGradient.Values, "dLoss/dImage");
        Assert.Equal(1UL, gradient.ForwardId);
        Assert.Equal(expected.DifferentiatedCalls, gradient.DifferentiatedCalls);
        Assert.Equal(2, gradient.DifferentiatedCalls);
        AssertRelativelyClose(expected.TokenGradient, gradient.Gradient, "dLoss/dToken");
    }

    [Fact]
    public async Task TheClassifierBackendEqualsTheInProcessPipeline()
    {
        using var classifier = Classifier();
        var info = await classifier.GetInfoAsync(CancellationToken.None);
        Assert.Equal("vit-tiny", info.ModelId);
        Assert.Equal(10, info.NumClasses);
        Assert.Equal("LABEL_3", info.Labels[3]);

        using var scope = NewDisposeScope();
        var images = rand([3, 3, 32, 32], generator: new Generator(5));
        var one = images[0].unsqueeze(0);
        var loss = await classifier.LossAndGradientAsync(DownstreamFixture.ToData(one), 7, CancellationToken.None);
        using var expected = fixture.InProcessClassifier.LossAndGradient(one, [7]);
        Assert.Equal(expected.Losses[0], loss.Loss, ScalarTolerance);
        Assert.Equal(expected.TargetProbabilities[0], loss.TargetProbability, ScalarTolerance);
        Assert.Equal(expected.PredictedClassIds[0], loss.PredictedClassId);
        AssertRelativelyClose(DownstreamFixture.ToData(expected.ImageGradient).Values, loss.ImageGradient.Values, "dLoss/dImage");

        var predictions = await classifier.ClassifyAsync(DownstreamFixture.ToData(images), 7, CancellationToken.None);
        var probabilities = nn.functional.softmax(fixture.InProcessClassifier.Classify(images), 1);
        Assert.Equal(3, predictions.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal((int)probabilities[i].argmax().item<long>(), predictions[i].PredictedClassId);
            Assert.Equal(probabilities[i, 7].item<float>(), predictions[i].TargetProbability, ScalarTolerance);
        }
    }

    /// <summary>
    /// Not a timed assertion: prints what one forward+backward costs over gRPC (the diffusion service on loopback, one
    /// LibTorch thread) against the same on the domain's gradient session in this process (one thread), with the same
    /// dLoss/dImage, interleaved, as medians after a warm-up. The machine is shared, so single runs are noisy.
    /// </summary>
    [Fact]
    public async Task RoundTripOverheadOfForwardAndBackward()
    {
        using var diffusion = Diffusion();
        float[] token = await diffusion.GetTokenEmbeddingAsync("a", CancellationToken.None);
        var options = DownstreamFixture.SessionOptions();
        await using var remoteSession = await diffusion.OpenGradientSessionAsync(options, CancellationToken.None);
        using var localSession = fixture.OpenInProcessSession(options);
        using var scope = NewDisposeScope();
        var imageGradient = rand([1, 3, 32, 32], generator: new Generator(9)) * 1e-3;
        var imageGradientData = DownstreamFixture.ToData(imageGradient);
        var tokenVector = tensor(token);
        const int repetitions = 9;
        var unary = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await diffusion.GetModelInfoAsync(CancellationToken.None);
            unary.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        output.WriteLine($"GetModelInfo round trip (transport alone), median of 20: {Median(unary) * 1000:F2} ms");
        foreach (int steps in new[] { 5, 30 })
        {
            var sampling = DownstreamFixture.Sampling(steps: steps);
            var resolved = fixture.Resolve(sampling);
            // Seconds per repetition: [remote forward, remote backward, local forward, local backward].
            var times = new List<double[]>();
            for (int i = 0; i <= repetitions; i++)
            {
                ulong id = (ulong)(steps * 100 + i + 1);
                var t = new double[4];
                var start = Stopwatch.GetTimestamp();
                await remoteSession.ForwardAsync(new ForwardRequest(id, sampling, token, null), CancellationToken.None);
                t[0] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                start = Stopwatch.GetTimestamp();
                await remoteSession.BackwardAsync(id, imageGradientData, CancellationToken.None);
                t[1] = Stopwatch.GetElapsedTime(start).TotalSeconds;

                start = Stopwatch.GetTimestamp();
                using (localSession.Forward(new SessionForward(id, resolved, tokenVector, null), null, CancellationToken.None))
                {
                    t[2] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    start = Stopwatch.GetTimestamp();
                    using (localSession.Backward(id, imageGradient))
                        t[3] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                }
                if (i > 0) times.Add(t); // the first is a warm-up
            }
            double Ms(int column) => Median([.. times.Select(t => t[column])]) * 1000;
            double r = Median([.. times.Select(t => t[0] + t[1])]), l = Median([.. times.Select(t => t[2] + t[3])]);
            output.WriteLine($"sd-tiny 32x32, {steps} steps, last 2 UNet calls differentiated, recompute, 1 thread, median of " +
                             $"{repetitions}: forward+backward over gRPC {r * 1000:F1} ms (forward {Ms(0):F1}, backward " +
                             $"{Ms(1):F1}), in process {l * 1000:F1} ms (forward {Ms(2):F1}, backward {Ms(3):F1}), ratio " +
                             $"{r / l:F2}, overhead {(r - l) * 1000:F1} ms");
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static void AssertClose(TensorData expected, TensorData actual, double tolerance, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double error = MaxAbsError(expected.Values, actual.Values);
        Assert.True(error <= tolerance, $"{what}: max abs error {error:E3} > {tolerance:E1}");
    }

    private void AssertRelativelyClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v)), error = MaxAbsError(expected, actual);
        output.WriteLine($"{what}: max |expected| {scale:E3}, max abs error {error:E3}");
        Assert.True(scale > 0, $"{what} is all zeros: nothing would be compared");
        Assert.True(error <= RelativeGradientTolerance * scale, $"{what}: max abs error {error:E3} > {RelativeGradientTolerance:E0} x {scale:E3}");
    }

    private static double MaxAbsError(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
}
