using System.Diagnostics;
using DiscriminativeTokens.Contracts.Classifier.V1;
using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using TorchSharp;
using Xunit.Abstractions;
using static DiscriminativeTokens.Tests.Services.Classifier.ClassifierCalls;

namespace DiscriminativeTokens.Tests.Services.Classifier;

/// <summary>
/// A .NET client gets logits and gradients from a running ClassifierService process over gRPC, and they equal what
/// the same classifier computes in-process. Tolerance: max abs error ≤ 1e-6 · max(1, max |in-process|) for logits,
/// losses and probabilities, ≤ 1e-6 · max |in-process| for gradients (the same code on the same CPU; only LibTorch's
/// thread scheduling could differ).
/// </summary>
[Collection(ClassifierServiceCollection.Name)]
public sealed class ClassifierServiceTests(ClassifierServiceFixture fixture, ITestOutputHelper output)
{
    private const double Tolerance = 1e-6;

    [Fact]
    public async Task GetInfoDescribesTheServedClassifier()
    {
        var info = await fixture.Client.GetInfoAsync(new GetInfoRequest(), deadline: Deadline);
        var expected = fixture.InProcess.Info;
        Assert.Equal("vit-tiny", info.ModelId);
        Assert.Equal(10, info.NumClasses);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"LABEL_{i}"), info.Labels);
        Assert.Equal(ClassifierServiceFixture.MaxBatchSize, info.MaxBatchSize);
        Assert.Equal(3, info.Input.Channels);
        Assert.Equal(0f, info.Input.MinValue);
        Assert.Equal(1f, info.Input.MaxValue);
        Assert.Equal(expected.MinImageSide, info.Input.MinSize);
        Assert.Equal(4096, info.Input.MaxSize);
        Assert.Equal("resize shorter side to 40 (bicubic, no antialias), center crop 32 (kornia: half-pixel offsets " +
                     "interpolated bilinearly), normalize mean 0.5 std 0.5", info.Input.Preprocessing);
        Assert.Equal(expected.Preprocessing, info.Input.Preprocessing);
    }

    [Fact]
    public async Task ClassifyEqualsTheInProcessPipeline()
    {
        using var images = Images(3, 48, 64, seed: 7);
        var response = await ClassifyAsync(fixture.Client, images, topK: 3);

        using var logits = TensorCodec.Decode(response.Logits);
        using var expected = fixture.InProcess.Classify(images);
        AssertClose(logits, expected, "logits", Tolerance * Math.Max(1, MaxAbs(expected)));

        var expectedTop = fixture.InProcess.TopClasses(expected, 3);
        Assert.Equal(3, response.Predictions.Count);
        for (int i = 0; i < 3; i++)
        {
            var classes = response.Predictions[i].Classes;
            Assert.Equal(expectedTop[i].Select(c => c.ClassId), classes.Select(c => c.ClassId));
            Assert.Equal(expectedTop[i].Select(c => c.Label), classes.Select(c => c.Label));
            for (int k = 0; k < 3; k++)
            {
                Assert.Equal(expectedTop[i][k].Probability, classes[k].Probability, 1e-6);
                Assert.Equal(expectedTop[i][k].Logit, classes[k].Logit, 1e-5);
            }
            Assert.True(classes[0].Probability >= classes[1].Probability && classes[1].Probability >= classes[2].Probability);
        }
    }

    [Fact]
    public async Task TopKDefaultsToFiveAndIsCappedAtTheNumberOfClasses()
    {
        using var images = Images(1, 32, 32);
        var byDefault = await ClassifyAsync(fixture.Client, images);
        Assert.Equal(5, byDefault.Predictions.Single().Classes.Count);
        var all = await ClassifyAsync(fixture.Client, images, topK: 50);
        Assert.Equal(10, all.Predictions.Single().Classes.Count);
        Assert.Equal(1.0, all.Predictions.Single().Classes.Sum(c => c.Probability), 1e-5);
    }

    [Fact]
    public async Task LossAndGradientEqualTheInProcessPipeline()
    {
        using var images = Images(2, 64, 64, seed: 11);
        int[] targets = [3, 7];
        using var reply = await LossAndGradientAsync(fixture.Client, images, targets);
        using var expected = fixture.InProcess.LossAndGradient(images, targets);

        Assert.Equal(images.shape, reply.Gradient.shape);
        Assert.Equal(torch.ScalarType.Float32, reply.Gradient.dtype);
        Assert.Equal(1, reply.Messages);
        AssertClose(reply.Gradient, expected.ImageGradient, "dLoss/dImage", Tolerance * MaxAbs(expected.ImageGradient));
        Assert.True(MaxAbs(expected.ImageGradient) > 0);

        using var logits = TensorCodec.Decode(reply.Result.Logits);
        AssertClose(logits, expected.Logits, "logits", Tolerance * Math.Max(1, MaxAbs(expected.Logits)));
        Assert.Equal(expected.PredictedClassIds, reply.Result.PredictedClassIds);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(expected.Losses[i], reply.Result.Losses[i], Tolerance * Math.Max(1, expected.Losses[i]));
            Assert.Equal(expected.TargetProbabilities[i], reply.Result.TargetProbabilities[i], Tolerance);
            // Cross-entropy is -log p(target).
            Assert.Equal(-Math.Log(reply.Result.TargetProbabilities[i]), reply.Result.Losses[i], 1e-5);
        }
    }

    [Fact]
    public async Task ABatchLargerThanTheDefaultMessageLimitTravelsInSeveralChunksBothWays()
    {
        // 2x3x512x512 float32 = 6 MiB: over gRPC's 4 MB default message limit, so it must be chunked each way.
        using var images = Images(2, 512, 512, seed: 5);
        long bytes = images.numel() * 4;
        Assert.True(bytes > 4_000_000);
        int[] targets = [1, 8];

        var started = Stopwatch.GetTimestamp();
        using var reply = await LossAndGradientAsync(fixture.Client, images, targets);
        output.WriteLine($"LossAndGradient of 2x3x512x512 ({bytes} bytes each way): {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms");
        Assert.Equal(TensorChunker.ChunkCount((int)bytes), reply.Messages);
        Assert.Equal(6, reply.Messages); // 6 MiB in the default 1 MiB chunks
        using var expected = fixture.InProcess.LossAndGradient(images, targets);
        AssertClose(reply.Gradient, expected.ImageGradient, "dLoss/dImage (512x512)", Tolerance * MaxAbs(expected.ImageGradient));

        // Larger chunks on request, up to the 4 MiB maximum.
        using var bigChunks = await LossAndGradientAsync(fixture.Client, images, targets, maxChunkBytes: 4 << 20, sendChunkBytes: 4 << 20);
        Assert.Equal(2, bigChunks.Messages);
        Assert.True(bigChunks.Gradient.Equals(reply.Gradient));

        var classified = await ClassifyAsync(fixture.Client, images);
        using var logits = TensorCodec.Decode(classified.Logits);
        using var expectedLogits = fixture.InProcess.Classify(images);
        AssertClose(logits, expectedLogits, "logits (512x512)", Tolerance * Math.Max(1, MaxAbs(expectedLogits)));
    }

    [Fact]
    public async Task CallsBeyondTheQueueLimitAreRefusedPromptlyAndTheOthersComplete()
    {
        // Two calls that are still sending their images hold both admissions (1 running + 1 queued).
        using var images = Images(1, 64, 64, seed: 3);
        var chunks = Chunks(images, 4096);
        using var first = fixture.Client.LossAndGradient(deadline: Deadline);
        using var second = fixture.Client.LossAndGradient(deadline: Deadline);
        foreach (var call in new[] { first, second })
        {
            var opening = new LossAndGradientRequest { Images = chunks[0] };
            opening.TargetClassIds.Add(2);
            await call.RequestStream.WriteAsync(opening);
        }

        // The server admits the two as their first messages arrive; from then on a third call is refused.
        RpcException? refused = null;
        double refusedAfterMs = 0;
        for (int attempt = 0; attempt < 100 && refused is null; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await ClassifyAsync(fixture.Client, images);
                await Task.Delay(50);
            }
            catch (RpcException e)
            {
                refused = e;
                refusedAfterMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }
        Assert.NotNull(refused);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("busy", refused.Status.Detail);
        output.WriteLine($"refused after {refusedAfterMs:F0} ms: {refused.Status.Detail}");
        Assert.True(refusedAfterMs < 2000, $"the refusal took {refusedAfterMs:F0} ms");

        // The two admitted calls finish normally.
        foreach (var call in new[] { first, second })
        {
            foreach (var chunk in chunks.Skip(1))
                await call.RequestStream.WriteAsync(new LossAndGradientRequest { Images = chunk });
            await call.RequestStream.CompleteAsync();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Single(call.ResponseStream.Current.Result.Losses);
        }
        var after = await ClassifyAsync(fixture.Client, images);
        Assert.Single(after.Predictions);
    }

    private void AssertClose(torch.Tensor actual, torch.Tensor expected, string name, double limit)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var difference = (actual.to(torch.float64) - expected.to(torch.float64)).abs().max();
        double error = difference.item<double>();
        output.WriteLine($"{name}: max abs error {error:E2} (limit {limit:E2})");
        Assert.True(error <= limit, $"{name}: max abs error {error:E3} exceeds {limit:E3}");
    }

    private static double MaxAbs(torch.Tensor tensor)
    {
        using var max = tensor.abs().max().to(torch.float64);
        return max.item<double>();
    }
}
