using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Tensors;
using Grpc.Core;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>
/// GetTokenEmbedding returns the row the in-process lookup returns, bit for bit (a copy of stored weights, no
/// arithmetic), and refuses anything that is not exactly one token with INVALID_ARGUMENT saying what it became.
/// </summary>
[Collection(DiffusionServiceCollection.Name)]
public sealed class TokenEmbeddingTests(DiffusionServiceFixture service, InProcessModel local)
{
    [Fact]
    public async Task OneWordsEmbeddingEqualsTheInProcessLookup()
    {
        var reply = await service.Client.GetTokenEmbeddingAsync(new GetTokenEmbeddingRequest { Word = "a" },
                                                                deadline: DiffusionServiceFixture.Deadline(10));
        var expected = TokenEmbeddingLookup.Lookup(local.Model, "a");
        Assert.Equal("a", reply.Word);
        Assert.Equal(expected.TokenId, reply.TokenId);
        Assert.Equal("a</w>", reply.Token);
        var (values, shape) = TensorCodec.DecodeArray<float>(reply.Embedding);
        Assert.Equal([32L], shape);
        Assert.Equal(expected.Embedding, values);
        Assert.Contains(values, v => v != 0);
    }

    [Theory]
    [InlineData("tiger cat", "\"tiger cat\" is 2 tokens")]
    [InlineData("", "The word is empty")]
    public async Task AnythingButOneTokenIsInvalidArgument(string word, string message)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await service.Client.GetTokenEmbeddingAsync(new GetTokenEmbeddingRequest { Word = word },
                                                        deadline: DiffusionServiceFixture.Deadline(10)));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(message, error.Status.Detail);
        Assert.Contains("such as \"a\"", error.Status.Detail);
        await service.AssertStillServingAsync();
    }
}
