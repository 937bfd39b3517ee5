using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using Google.Protobuf;
using Grpc.Core;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>
/// Every kind of bad Generate request fails before any event with INVALID_ARGUMENT and a message that says what to
/// fix; the service keeps serving.
/// </summary>
[Collection(DiffusionServiceCollection.Name)]
public sealed class GenerateBadInputTests(DiffusionServiceFixture service)
{
    private static SamplingOptions Sampling(string prompt = "a photo of newclas cat") => new() { Prompt = prompt, Steps = 2 };

    private static WireTensor Vector(params float[] values)
    {
        var tensor = new WireTensor { Dtype = DType.Float32, Data = ByteString.CopyFrom(values.SelectMany(BitConverter.GetBytes).ToArray()) };
        tensor.Shape.Add(values.Length);
        return tensor;
    }

    private static LearnedToken Token(WireTensor? embedding = null, string placeholder = "newclas") =>
        new() { Placeholder = placeholder, Embedding = embedding ?? Vector(new float[32]) };

    public static TheoryData<string, GenerateRequest, string> BadRequests()
    {
        var nan = new float[32];
        nan[7] = float.NaN;
        var malformed = Vector(new float[32]);
        malformed.Data = ByteString.CopyFrom(new byte[100]);
        return new TheoryData<string, GenerateRequest, string>
        {
            { "prompt without the placeholder", new() { Sampling = Sampling("a photo of a cat"), Token = Token() }, "does not contain the placeholder \"newclas\"" },
            { "token vector of the wrong size", new() { Sampling = Sampling(), Token = Token(Vector(new float[31])) }, "send shape [32] or [1, 32]" },
            { "token vector with NaN", new() { Sampling = Sampling(), Token = Token(Vector(nan)) }, "1 NaN or infinite value(s) of 32" },
            { "token tensor malformed", new() { Sampling = Sampling(), Token = Token(malformed) }, "token.embedding:" },
            { "token tensor missing", new() { Sampling = Sampling(), Token = new LearnedToken { Placeholder = "newclas" } }, "token.embedding is missing" },
            { "placeholder with whitespace", new() { Sampling = Sampling("a new clas cat"), Token = Token(placeholder: "new clas") }, "whitespace" },
            { "placeholder that is a word", new() { Sampling = Sampling("a photo of a cat"), Token = Token(placeholder: "cat") }, "already a single token" },
            { "width not a multiple of the VAE factor", new() { Sampling = new() { Prompt = "a cat", Width = 33 } }, "width = 33 is not a multiple of 2" },
            { "height too large", new() { Sampling = new() { Prompt = "a cat", Height = 4096 } }, "Diffusion:MaxImageSize" },
            { "negative width", new() { Sampling = new() { Prompt = "a cat", Width = -8 } }, "width = -8 is out of range" },
            { "steps negative", new() { Sampling = new() { Prompt = "a cat", Steps = -1 } }, "steps = -1 is out of range: use 1..250" },
            { "steps too many", new() { Sampling = new() { Prompt = "a cat", Steps = 251 } }, "steps = 251 is out of range" },
            { "guidance below 1", new() { Sampling = new() { Prompt = "a cat", GuidanceScale = 0.5f } }, "guidance_scale = 0.5 is out of range: use 1..30" },
            { "guidance above 30", new() { Sampling = new() { Prompt = "a cat", GuidanceScale = 31 } }, "guidance_scale = 31 is out of range" },
            { "guidance NaN", new() { Sampling = new() { Prompt = "a cat", GuidanceScale = float.NaN } }, "guidance_scale = NaN" },
            { "unknown scheduler", new() { Sampling = new() { Prompt = "a cat", Scheduler = "lms" } }, "scheduler = \"lms\" is not available" },
            { "unknown padding", new() { Sampling = new() { Prompt = "a cat", Padding = (PromptPadding)7 } }, "padding = 7 is not a PromptPadding value" },
            { "too many images", new() { Sampling = new() { Prompt = "a cat" }, NumImages = 9 }, "num_images = 9 is out of range: use 1..8" },
            { "negative image count", new() { Sampling = new() { Prompt = "a cat" }, NumImages = -1 }, "num_images = -1" },
            { "chunks too large", new() { Sampling = new() { Prompt = "a cat" }, MaxChunkBytes = 5 << 20 }, "max_chunk_bytes = 5242880 is out of range" },
            { "negative chunk size", new() { Sampling = new() { Prompt = "a cat" }, MaxChunkBytes = -1 }, "max_chunk_bytes = -1" },
        };
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task IsRefusedWithInvalidArgumentAndAMessageThatSaysWhatToFix(string problem, GenerateRequest request, string expected)
    {
        using var call = service.Client.Generate(request, deadline: DiffusionServiceFixture.Deadline(30));
        var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{problem}: {error.StatusCode} {error.Status.Detail}");
        Assert.Contains(expected, error.Status.Detail);
        await service.AssertStillServingAsync();
    }
}
