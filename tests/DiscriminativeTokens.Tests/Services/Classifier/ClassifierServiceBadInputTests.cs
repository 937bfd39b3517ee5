using DiscriminativeTokens.Contracts.Classifier.V1;
using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Grpc.Health.V1;
using TorchSharp;
using Xunit.Abstractions;
using static DiscriminativeTokens.Tests.Services.Classifier.ClassifierCalls;
using Client = DiscriminativeTokens.Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient;

namespace DiscriminativeTokens.Tests.Services.Classifier;

/// <summary>
/// Every kind of bad request is answered INVALID_ARGUMENT with a message that says what to fix, and the same service
/// process answers a good request right after it.
/// </summary>
[Collection(ClassifierServiceCollection.Name)]
public sealed class ClassifierServiceBadInputTests(ClassifierServiceFixture fixture, ITestOutputHelper output)
{
    private sealed record BadCase(string Fragment, Func<Client, Task> Call);

    private static readonly Dictionary<string, BadCase> Cases = new()
    {
        ["wrong rank"] = new("[N, 3, H, W]", c => Classify(c, torch.rand(3, 32, 32))),
        ["one channel"] = new("[N, 3, H, W]", c => Loss(c, torch.rand(1, 1, 32, 32), [0])),
        ["value 1.5"] = new("[0, 1]", c => Loss(c, WithValue(1.5f), [0])),
        ["NaN"] = new("NaN", c => Loss(c, WithValue(float.NaN), [0])),
        ["infinity"] = new("infinite", c => Classify(c, WithValue(float.PositiveInfinity))),
        ["class id 10 of 10"] = new("Target class id 10 (image 1) is out of range", c => Loss(c, torch.rand(2, 3, 32, 32), [0, 10])),
        ["negative class id"] = new("out of range", c => Loss(c, torch.rand(1, 3, 32, 32), [-1])),
        ["batch above the limit"] = new("at most 4", c => Loss(c, torch.rand(5, 3, 32, 32), [0, 1, 2, 3, 4])),
        ["targets count mismatch"] = new("1 target class ids were given for 2 images", c => Loss(c, torch.rand(2, 3, 32, 32), [0])),
        ["no targets"] = new("0 target class ids were given for 1 images", c => Loss(c, torch.rand(1, 3, 32, 32), [])),
        ["integer images"] = new("float32", c => Classify(c, torch.ones([1, 3, 32, 32], torch.ScalarType.Int64))),
        ["empty batch"] = new("no images", c => Classify(c, torch.rand(0, 3, 32, 32))),
        ["negative top_k"] = new("top_k is -1", c => ClassifyAsync(c, torch.rand(1, 3, 32, 32), topK: -1)),
        ["max_chunk_bytes above 4 MiB"] = new("max_chunk_bytes is 4194305", c => Reply(LossAndGradientAsync(
            c, torch.rand(1, 3, 32, 32), [0], maxChunkBytes: (4 << 20) + 1))),
        ["missing header"] = new("has no header", c => LossMessages(c, Broken(chunks => chunks[0].Header = null))),
        ["chunks out of order"] = new("Expected chunk index 1 but got 2", c => LossMessages(c, Broken(chunks => chunks.RemoveAt(1)))),
        ["stream ends early"] = new("before the chunk marked last", c => LossMessages(c, Broken(chunks => chunks.RemoveAt(chunks.Count - 1)))),
        ["header on a later chunk"] = new("carries a header", c => LossMessages(c, Broken(chunks => chunks[1].Header = chunks[0].Header))),
        ["no messages"] = new("held no messages", c => ClassifyAsync(c, Array.Empty<ClassifyRequest>())),
        ["targets in a later message"] = new("target_class_ids belongs in the first request message only", c => LossMessages(c,
            Broken(_ => { }, (request, i) => { if (i == 2) request.TargetClassIds.Add(0); }))),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task IsRefusedWithInvalidArgumentAndTheServiceKeepsServing(string name)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Cases[name].Call(fixture.Client));
        output.WriteLine($"{name}: {error.StatusCode}: {error.Status.Detail}");
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(Cases[name].Fragment, error.Status.Detail);

        using var images = Images(1, 40, 40);
        using var reply = await LossAndGradientAsync(fixture.Client, images, [4]);
        Assert.Single(reply.Result.Losses);
        var health = await new Health.HealthClient(fixture.Service.Channel).CheckAsync(new HealthCheckRequest(), deadline: Deadline);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Null(fixture.Service.ExitCode);
    }

    [Fact]
    public async Task ValueOutsideTheRangeNamesTheRangeFoundAndTheUsualMistake()
    {
        using var images = torch.rand(1, 3, 32, 32) * 255;
        var error = await Assert.ThrowsAsync<RpcException>(() => ClassifyAsync(fixture.Client, images));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("not 0..255", error.Status.Detail);
        // Slightly outside [0, 1] (float rounding of a decoded image) is accepted.
        using var rounded = torch.rand(1, 3, 32, 32).clamp(0, 1) * 1.0005f;
        await ClassifyAsync(fixture.Client, rounded);
    }

    private static torch.Tensor WithValue(float value)
    {
        var images = torch.rand(1, 3, 32, 32);
        images[0, 1, 5, 7] = torch.tensor(value);
        return images;
    }

    private static async Task Classify(Client client, torch.Tensor images)
    {
        using (images) await ClassifyAsync(client, images);
    }

    private static async Task Loss(Client client, torch.Tensor images, int[] targets)
    {
        using (images) using (await LossAndGradientAsync(client, images, targets)) { }
    }

    private static async Task Reply(Task<LossAndGradientReply> call)
    {
        using (await call) { }
    }

    private static async Task LossMessages(Client client, IEnumerable<LossAndGradientRequest> messages)
    {
        using (await LossAndGradientAsync(client, messages)) { }
    }

    /// <summary>A well-formed request of one 3x64x64 image in 4 KiB chunks, then broken by <paramref name="breakChunks"/>.</summary>
    private static List<LossAndGradientRequest> Broken(Action<List<TensorChunk>> breakChunks,
                                                       Action<LossAndGradientRequest, int>? breakMessage = null)
    {
        using var images = Images(1, 64, 64);
        var chunks = Chunks(images, 4096);
        breakChunks(chunks);
        var messages = chunks.Select((chunk, i) => new LossAndGradientRequest { Images = chunk }).ToList();
        messages[0].TargetClassIds.Add(0);
        for (int i = 0; i < messages.Count; i++)
            breakMessage?.Invoke(messages[i], i);
        return messages;
    }
}
