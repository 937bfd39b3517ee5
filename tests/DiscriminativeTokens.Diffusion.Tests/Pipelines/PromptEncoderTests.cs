using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using DiscriminativeTokens.Diffusion.Tests.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Pipelines;

/// <summary>Prompt encoding against reference/dct.safetensors and reference/pipeline.safetensors.</summary>
/// Tolerance (Parity): max abs error <= 1e-4 * max(1, max|ref|).
public class PromptEncoderTests(ITestOutputHelper output)
{
    [Fact]
    public void ReferenceTrainingContextWithTheLearnedTokenMatchesRunPy()
    {
        using var model = StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU);
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("dct.safetensors"));
        using var init = reference.Read("placeholder_embedding_init");
        var encoder = new PromptEncoder(model.Tokenizer, model.TextEncoder);
        using var conditioning = encoder.Encode("A photo of newclas cat", "", PromptPaddingMode.ReferenceUnpadded,
                                                new LearnedToken("newclas", init));
        using var expected = reference.Read("conv/encoder_hidden_states");
        Parity.AssertClose(conditioning.Embeddings, expected, "conv/encoder_hidden_states", output);
        Assert.Empty(conditioning.Warnings);
    }

    [Fact]
    public void GenerationContextPadsBothPromptsTo77()
    {
        using var model = StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU);
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("pipeline.safetensors"));
        var encoder = new PromptEncoder(model.Tokenizer, model.TextEncoder);
        using var conditioning = encoder.Encode("a photo of a cat", "", PromptPaddingMode.MaxLength);
        using var expected = reference.Read("encoder_hidden_states");
        Parity.AssertClose(conditioning.Embeddings, expected, "encoder_hidden_states", output);
    }

    [Fact]
    public void GradientsReachTheTokenVectorOnly()
    {
        using var model = StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU);
        var encoder = new PromptEncoder(model.Tokenizer, model.TextEncoder);
        using var vector = randn(model.TextHiddenSize).requires_grad_();
        using var conditioning = encoder.Encode("A photo of newclas cat", "", PromptPaddingMode.MaxLength, new LearnedToken("newclas", vector));
        conditioning.Embeddings.pow(2).sum().backward();
        Assert.True(vector.grad!.abs().sum().item<float>() > 0);
        Assert.All(model.TextEncoder.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void APromptWithoutThePlaceholderIsRefusedAndALongPromptWarns()
    {
        using var model = StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU);
        var encoder = new PromptEncoder(model.Tokenizer, model.TextEncoder);
        using var vector = zeros(model.TextHiddenSize);
        var error = Assert.Throws<ArgumentException>(() =>
            encoder.Encode("A photo of a cat", "", PromptPaddingMode.MaxLength, new LearnedToken("newclas", vector)));
        Assert.Contains("'newclas'", error.Message);

        using var wrong = zeros(7);
        Assert.Throws<ArgumentException>(() =>
            encoder.Encode("A photo of newclas cat", "", PromptPaddingMode.MaxLength, new LearnedToken("newclas", wrong)));

        using var conditioning = encoder.Encode(string.Join(" ", Enumerable.Repeat("cat", 100)), "", PromptPaddingMode.MaxLength);
        Assert.Contains(conditioning.Warnings, w => w.Contains("dropped"));
    }

    [Fact]
    public void TheModelDescribesItself()
    {
        using var model = StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU);
        Assert.Equal("sd-tiny", model.ModelId);
        Assert.Equal(32, model.TextHiddenSize);
        Assert.Equal(2, model.VaeScaleFactor);
        Assert.Equal(32, model.SampleSize);
        Assert.Equal(64, model.TextEncoderSha256.Length);
        using var scheduler = model.CreateScheduler();
        Assert.Equal("PNDMScheduler", scheduler.ClassName);
    }
}
