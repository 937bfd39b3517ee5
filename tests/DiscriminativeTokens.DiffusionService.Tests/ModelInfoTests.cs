using DiscriminativeTokens.Contracts.Diffusion.V1;

namespace DiscriminativeTokens.DiffusionService.Tests;

[Collection(DiffusionServiceCollection.Name)]
public sealed class ModelInfoTests(DiffusionServiceFixture service, InProcessModel local)
{
    [Fact]
    public async Task DescribesTheLoadedModelAndTheLimits()
    {
        var info = await service.Client.GetModelInfoAsync(new GetModelInfoRequest(), deadline: DiffusionServiceFixture.Deadline(10));
        Assert.Equal("sd-tiny", info.ModelId);
        Assert.Equal(32, info.TextHiddenSize);
        Assert.Equal(32, info.SampleSize);
        Assert.Equal(2, info.VaeScaleFactor);
        Assert.Equal(4, info.LatentChannels);
        Assert.Equal("PNDMScheduler", info.Scheduler);
        Assert.Equal(["pndm", "ddim", "euler", "dpmpp2m"], info.AvailableSchedulers);
        Assert.Equal("epsilon", info.PredictionType);
        Assert.Equal(77, info.MaxTokenLength);
        Assert.Equal(local.Model.TextEncoderSha256, info.TextEncoderSha256);
        Assert.Matches("^[0-9a-f]{64}$", info.TextEncoderSha256);
        Assert.Equal("cpu", info.Device);
        Assert.Equal(250, info.Limits.MaxSteps);
        Assert.Equal(1024, info.Limits.MaxImageSize);
        Assert.Equal(8, info.Limits.MaxImagesPerRequest);
        Assert.Equal(4, info.Limits.MaxConcurrentSessions);
        Assert.Equal(8, info.Limits.MaxOpenForwardsPerSession);
        Assert.Equal(600, info.Limits.SessionIdleTimeoutSeconds);
        Assert.NotNull(info.Load);
    }
}
