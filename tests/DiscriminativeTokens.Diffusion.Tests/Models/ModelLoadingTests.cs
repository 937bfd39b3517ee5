using DiscriminativeTokens.Diffusion.Models.Autoencoder;
using DiscriminativeTokens.Diffusion.Models.TextEncoder;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

/// <summary>Folder and weights-file handling of <see cref="ClipTextModel.Load"/> and <see cref="AutoencoderKL.Load"/>.</summary>
public sealed class ModelLoadingTests
{
    private const string ClipWeights = "model.safetensors";
    private const string VaeWeights = "diffusion_pytorch_model.safetensors";

    [Theory]
    [InlineData("text_model.final_layer_norm.bias")]
    [InlineData("text_model.encoder.layers.3.self_attn.v_proj.weight")]
    public void MissingTextEncoderKeyIsNamed(string key)
    {
        using var copy = new ModelFolderCopy("text_encoder");
        copy.WriteWeights(ClipWeights, ClipWeights, (name, t) => name == key ? null : t);
        var error = Assert.Throws<InvalidDataException>(() => ClipTextModel.Load(copy.Folder, CPU));
        Assert.Contains($"'{key}'", error.Message);
        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public void WrongTextEncoderShapeIsNamed()
    {
        const string key = "text_model.encoder.layers.0.mlp.fc1.weight";
        using var copy = new ModelFolderCopy("text_encoder");
        copy.WriteWeights(ClipWeights, ClipWeights, (name, t) => name == key ? t.narrow(0, 0, t.shape[0] - 1) : t);
        var error = Assert.Throws<InvalidDataException>(() => ClipTextModel.Load(copy.Folder, CPU));
        Assert.Contains($"'{key}'", error.Message);
        Assert.Contains("[37, 32]", error.Message);
    }

    [Fact]
    public void WrongVaeShapeAndMissingVaeKeyAreNamed()
    {
        const string reshaped = "decoder.mid_block.attentions.0.to_out.0.weight";
        const string dropped = "encoder.mid_block.attentions.0.group_norm.weight";
        using (var copy = new ModelFolderCopy("vae"))
        {
            copy.WriteWeights(VaeWeights, VaeWeights, (name, t) => name == reshaped ? t.narrow(1, 0, 32) : t);
            var error = Assert.Throws<InvalidDataException>(() => AutoencoderKL.Load(copy.Folder, CPU));
            Assert.Contains($"'{reshaped}'", error.Message);
        }
        using (var copy = new ModelFolderCopy("vae"))
        {
            copy.WriteWeights(VaeWeights, VaeWeights, (name, t) => name == dropped ? null : t);
            var error = Assert.Throws<InvalidDataException>(() => AutoencoderKL.Load(copy.Folder, CPU));
            Assert.Contains($"'{dropped}'", error.Message);
        }
    }

    [Fact]
    public void PositionIdsBufferMayBeAbsent()
    {
        using var copy = new ModelFolderCopy("text_encoder");
        copy.WriteWeights(ClipWeights, ClipWeights, (name, t) => name.EndsWith("position_ids") ? null : t);
        using var withoutBuffer = ClipTextModel.Load(copy.Folder, CPU);
        using var original = ClipTextModel.Load(Path.Combine(RepositoryPaths.SdTiny, "text_encoder"), CPU);
        Assert.Equal(original.ComputeWeightsSha256(), withoutBuffer.ComputeWeightsSha256());
    }

    [Fact]
    public void MissingFolderAndFilesNameWhatWasExpected()
    {
        string nowhere = Path.Combine(Path.GetTempPath(), $"dct-absent-{Guid.NewGuid():N}");
        var folderError = Assert.Throws<DirectoryNotFoundException>(() => ClipTextModel.Load(nowhere, CPU));
        Assert.Contains(nowhere, folderError.Message);

        using var copy = new ModelFolderCopy("vae");
        var fileError = Assert.Throws<FileNotFoundException>(() => AutoencoderKL.Load(copy.Folder, CPU));
        Assert.Contains(VaeWeights, fileError.Message);

        File.Delete(Path.Combine(copy.Folder, "config.json"));
        var configError = Assert.Throws<FileNotFoundException>(() => AutoencoderKL.Load(copy.Folder, CPU));
        Assert.Contains("config.json", configError.Message);
    }

    [Fact]
    public void HalfPrecisionVariantIsUsedWhenAskedOrAloneAndUpcast()
    {
        using var copy = new ModelFolderCopy("text_encoder");
        static Tensor? ToHalf(string name, Tensor t) => t.is_floating_point() ? t.to(float16) : t;
        copy.WriteWeights(ClipWeights, "model.fp16.safetensors", ToHalf);

        using var original = ClipTextModel.Load(Path.Combine(RepositoryPaths.SdTiny, "text_encoder"), CPU);
        using var alone = ClipTextModel.Load(copy.Folder, CPU);
        AssertHalfRounded(original, alone);

        copy.WriteWeights(ClipWeights, ClipWeights, (_, t) => t);
        using var plain = ClipTextModel.Load(copy.Folder, CPU);
        Assert.Equal(original.ComputeWeightsSha256(), plain.ComputeWeightsSha256());
        using var asked = ClipTextModel.Load(copy.Folder, CPU, variant: "fp16");
        AssertHalfRounded(original, asked);

        var error = Assert.Throws<FileNotFoundException>(() => ClipTextModel.Load(copy.Folder, CPU, variant: "bf16"));
        Assert.Contains("model.bf16.safetensors", error.Message);
    }

    private static void AssertHalfRounded(ClipTextModel original, ClipTextModel loaded)
    {
        var expected = original.state_dict();
        foreach (var (name, actual) in loaded.state_dict())
        {
            Assert.Equal(ScalarType.Float32, actual.dtype);
            using var rounded = expected[name].to(float16).to(float32);
            Assert.True(rounded.equal(actual).all().item<bool>(), name);
        }
        Assert.NotEqual(original.ComputeWeightsSha256(), loaded.ComputeWeightsSha256());
    }

    [Fact]
    public void UnsupportedConfigValuesNameTheField()
    {
        using (var copy = new ModelFolderCopy("text_encoder"))
        {
            copy.EditConfig(json => json.Replace("\"quick_gelu\"", "\"relu\""));
            var error = Assert.Throws<InvalidDataException>(() => ClipTextModel.Load(copy.Folder, CPU));
            Assert.Contains("'hidden_act'", error.Message);
            Assert.Contains("\"relu\"", error.Message);
        }
        using (var copy = new ModelFolderCopy("vae"))
        {
            copy.EditConfig(json => json.Replace("\"silu\"", "\"mish\""));
            var error = Assert.Throws<InvalidDataException>(() => AutoencoderKL.Load(copy.Folder, CPU));
            Assert.Contains("'act_fn'", error.Message);
            Assert.Contains("\"mish\"", error.Message);
        }
    }
}
