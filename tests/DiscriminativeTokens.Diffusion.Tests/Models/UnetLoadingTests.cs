using DiscriminativeTokens.Diffusion.Models.Unet;
using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

public sealed class UnetLoadingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("unet-test-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ParameterNamesAreDiffusersStateDictNames()
    {
        using var model = UNet2DConditionModel.CreateRandom(UnetTestSupport.SdTinyConfig(), CPU);
        var names = model.state_dict().Keys.ToHashSet();
        using var weights = new SafetensorsFile(Path.Combine(UnetTestSupport.UnetFolder, UNet2DConditionModel.WeightsFileName));
        Assert.Equal(weights.Entries.Keys.Order(), names.Order());
        Assert.Contains("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.weight", names);
        Assert.Contains("time_embedding.linear_1.weight", names);
        Assert.Contains("mid_block.resnets.0.norm1.weight", names);
        Assert.Contains("conv_norm_out.weight", names);
        Assert.Contains("down_blocks.0.downsamplers.0.conv.weight", names);
        Assert.Contains("up_blocks.0.upsamplers.0.conv.weight", names);
        Assert.Contains("up_blocks.0.attentions.2.transformer_blocks.0.ff.net.0.proj.weight", names);
        Assert.Contains("up_blocks.0.attentions.2.transformer_blocks.0.ff.net.2.bias", names);
    }

    /// <summary>A folder with only the .fp16 variant loads, upcast to float32, and predicts like the fp32 model.</summary>
    [Fact]
    public void HalfPrecisionVariantLoadsAsFloat32()
    {
        using var scope = NewDisposeScope();
        File.Copy(Path.Combine(UnetTestSupport.UnetFolder, UNet2DConditionModel.ConfigFileName),
                  Path.Combine(_folder, UNet2DConditionModel.ConfigFileName));
        using (var weights = new SafetensorsFile(Path.Combine(UnetTestSupport.UnetFolder, UNet2DConditionModel.WeightsFileName)))
            SafetensorsWriter.Write(Path.Combine(_folder, UNet2DConditionModel.HalfPrecisionWeightsFileName),
                                    weights.Entries.Keys.Select(k => KeyValuePair.Create(k, weights.Read(k).to(ScalarType.Float16))).ToList());

        using var half = UNet2DConditionModel.Load(_folder, CPU);
        using var full = UNet2DConditionModel.Load(UnetTestSupport.UnetFolder, CPU);
        var halfState = half.state_dict();
        foreach (var (name, parameter) in full.state_dict())
        {
            Assert.Equal(ScalarType.Float32, halfState[name].dtype);
            Assert.True(halfState[name].equal(parameter.to(ScalarType.Float16).to(ScalarType.Float32)).all().item<bool>(), name);
        }
        using var _ = no_grad();
        using var reference = UnetTestSupport.OpenReference();
        var sample = reference.Read("sample");
        var context = reference.Read("encoder_hidden_states");
        // fp16-rounded weights move the output a little; it must still be the same model.
        var delta = (half.forward(sample, 981L, context) - full.forward(sample, 981L, context)).abs().max().item<float>();
        Assert.InRange(delta, 0f, 0.05f);
    }

    [Fact]
    public void MissingWeightsAndPickleCheckpointsAreRefused()
    {
        File.Copy(Path.Combine(UnetTestSupport.UnetFolder, UNet2DConditionModel.ConfigFileName),
                  Path.Combine(_folder, UNet2DConditionModel.ConfigFileName));
        var missing = Assert.Throws<FileNotFoundException>(() => UNet2DConditionModel.Load(_folder, CPU));
        Assert.Contains(UNet2DConditionModel.WeightsFileName, missing.Message);

        File.WriteAllBytes(Path.Combine(_folder, "diffusion_pytorch_model.bin"), [0]);
        var pickle = Assert.Throws<InvalidDataException>(() => UNet2DConditionModel.Load(_folder, CPU));
        Assert.Contains("pickle", pickle.Message);
    }

    [Fact]
    public void WeightsOfAnotherArchitectureAreRefusedNamingKeys()
    {
        File.WriteAllText(Path.Combine(_folder, UNet2DConditionModel.ConfigFileName),
                          UnetTestSupport.SdTinyConfigWith(("layers_per_block", "1")));
        File.Copy(Path.Combine(UnetTestSupport.UnetFolder, UNet2DConditionModel.WeightsFileName),
                  Path.Combine(_folder, UNet2DConditionModel.WeightsFileName));
        var error = Assert.Throws<InvalidDataException>(() => UNet2DConditionModel.Load(_folder, CPU));
        Assert.Contains("unexpected key(s)", error.Message);
        Assert.Contains("down_blocks.0.resnets.1.", error.Message);
    }
}
