using DiscriminativeTokens.Diffusion.Models.Unet;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

public class UnetConfigTests
{
    [Theory]
    [InlineData("class_embed_type", "\"timestep\"", "timestep")]
    [InlineData("num_class_embeds", "10", "10")]
    [InlineData("addition_embed_type", "\"text_time\"", "text_time")]
    [InlineData("encoder_hid_dim_type", "\"text_proj\"", "text_proj")]
    [InlineData("encoder_hid_dim", "768", "768")]
    [InlineData("time_cond_proj_dim", "256", "256")]
    [InlineData("resnet_time_scale_shift", "\"scale_shift\"", "scale_shift")]
    [InlineData("dual_cross_attention", "true", "true")]
    [InlineData("only_cross_attention", "true", "true")]
    [InlineData("only_cross_attention", "[false, true]", "[false,true]")]
    [InlineData("class_embeddings_concat", "true", "true")]
    [InlineData("time_embedding_type", "\"fourier\"", "fourier")]
    [InlineData("time_embedding_act_fn", "\"silu\"", "silu")]
    [InlineData("timestep_post_act", "\"silu\"", "silu")]
    [InlineData("attention_type", "\"gated\"", "gated")]
    [InlineData("mid_block_type", "\"UNetMidBlock2DSimpleCrossAttn\"", "UNetMidBlock2DSimpleCrossAttn")]
    [InlineData("mid_block_type", "null", "null")]
    [InlineData("down_block_types", "[\"DownBlock2D\", \"AttnDownBlock2D\"]", "AttnDownBlock2D")]
    [InlineData("up_block_types", "[\"SimpleCrossAttnUpBlock2D\", \"UpBlock2D\"]", "SimpleCrossAttnUpBlock2D")]
    [InlineData("act_fn", "\"gelu\"", "gelu")]
    [InlineData("transformer_layers_per_block", "[[1, 2], 1]", "[[1,2],1]")]
    [InlineData("reverse_transformer_layers_per_block", "[[1], [1]]", "[[1],[1]]")]
    [InlineData("norm_num_groups", "null", "null")]
    [InlineData("a_future_field", "1", "1")]
    public void UnsupportedValueIsRefusedNamingFieldAndValue(string field, string json, string valueText)
    {
        string config = UnetTestSupport.SdTinyConfigWith((field, json));
        var error = Assert.Throws<NotSupportedException>(() => UNet2DConditionConfig.FromJson(config, "unet/config.json"));
        Assert.Contains($"'{field}'", error.Message);
        Assert.Contains(valueText, error.Message);
        Assert.StartsWith("unet/config.json: ", error.Message);
    }

    [Theory]
    [InlineData("attention_head_dim", "[8, 8, 8]")]
    [InlineData("block_out_channels", "[32, 48]")] // 48 is not a multiple of norm_num_groups 32
    [InlineData("layers_per_block", "0")]
    [InlineData("in_channels", "\"4\"")]
    public void InconsistentValueIsRejectedNamingTheField(string field, string json)
    {
        string config = UnetTestSupport.SdTinyConfigWith((field, json));
        var error = Assert.Throws<InvalidDataException>(() => UNet2DConditionConfig.FromJson(config));
        Assert.Contains($"'{field}'", error.Message);
    }

    /// <summary>diffusers only passes these to block types or embeddings we refuse, so here they change nothing.</summary>
    [Theory]
    [InlineData("resnet_skip_time_act", "true")]
    [InlineData("resnet_out_scale_factor", "2.0")]
    [InlineData("cross_attention_norm", "\"layer_norm\"")]
    [InlineData("mid_block_only_cross_attention", "true")]
    public void FieldsWithoutEffectOnTheseBlocksAreAccepted(string field, string json)
    {
        var config = UNet2DConditionConfig.FromJson(UnetTestSupport.SdTinyConfigWith((field, json)));
        Assert.Equal(UnetTestSupport.SdTinyConfig(), config);
    }

    [Fact]
    public void SdTinyConfigIsReadAsDiffusersDoes()
    {
        var config = UnetTestSupport.SdTinyConfig();
        Assert.Equal([32, 64], config.BlockOutChannels);
        Assert.Equal([8, 8], config.AttentionHeadsPerBlock());
        Assert.Equal(128, config.TimeEmbedDim);
        Assert.Equal((16, 16), config.SampleSize);
        Assert.False(config.UseLinearProjection);
        Assert.Equal(1e-5, config.NormEps);
    }

    [Fact]
    public void NumAttentionHeadsTakesPrecedenceOverAttentionHeadDim()
    {
        var config = UNet2DConditionConfig.FromJson(UnetTestSupport.SdTinyConfigWith(("num_attention_heads", "[2, 4]")));
        Assert.Equal([2, 4], config.AttentionHeadsPerBlock());
    }

    [Fact]
    public void StableDiffusion15PresetDescribesTheRealModel()
    {
        var config = UNet2DConditionConfig.StableDiffusion15();
        Assert.Equal([320, 640, 1280, 1280], config.BlockOutChannels);
        Assert.Equal([8, 8, 8, 8], config.AttentionHeadsPerBlock());
        Assert.Equal(768, config.CrossAttentionDim.Resolve(4, "cross_attention_dim")[0]);
        Assert.Equal(1280, config.TimeEmbedDim);
    }

    /// <summary>
    /// SD 2.x style at tiny size: linear proj_in/proj_out, heads per block as a list, upcast_attention. Heads follow
    /// the down blocks and are reversed for the up blocks; the mid block uses the last entry.
    /// </summary>
    [Fact]
    public void Sd2StyleConfigBuildsWithLinearProjectionsAndPerBlockHeads()
    {
        const string json = """
            {
              "_class_name": "UNet2DConditionModel",
              "_diffusers_version": "0.10.0.dev0",
              "act_fn": "silu",
              "attention_head_dim": [2, 4],
              "block_out_channels": [32, 64],
              "center_input_sample": false,
              "class_embed_type": null,
              "cross_attention_dim": 24,
              "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
              "downsample_padding": 1,
              "dual_cross_attention": false,
              "flip_sin_to_cos": true,
              "freq_shift": 0,
              "in_channels": 4,
              "layers_per_block": 1,
              "mid_block_scale_factor": 1,
              "mid_block_type": "UNetMidBlock2DCrossAttn",
              "norm_eps": 1e-05,
              "norm_num_groups": 8,
              "num_class_embeds": null,
              "only_cross_attention": false,
              "out_channels": 4,
              "resnet_time_scale_shift": "default",
              "sample_size": 8,
              "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
              "upcast_attention": true,
              "use_linear_projection": true
            }
            """;
        using var scope = NewDisposeScope();
        var config = UNet2DConditionConfig.FromJson(json);
        manual_seed(7);
        using var model = UNet2DConditionModel.CreateRandom(config, CPU);

        var state = model.state_dict();
        Assert.Equal(2, state["down_blocks.0.attentions.0.proj_in.weight"].dim());
        Assert.Equal(new long[] { 32, 32 }, state["down_blocks.0.attentions.0.proj_in.weight"].shape);
        Assert.Equal(new long[] { 64, 64 }, state["mid_block.attentions.0.proj_out.weight"].shape);
        Assert.Equal(new long[] { 32, 32 }, state["up_blocks.1.attentions.0.proj_in.weight"].shape);
        Assert.Equal(new long[] { 32, 24 }, state["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"].shape);
        // Norms start at weight 1 / bias 0 (TorchSharp leaves GroupNorm's affine parameters uninitialized).
        Assert.True(state["conv_norm_out.weight"].eq(1).all().item<bool>());
        Assert.True(state["down_blocks.0.resnets.0.norm1.bias"].eq(0).all().item<bool>());

        Assert.Equal(2, HeadsOf(((CrossAttnDownBlock2D)model.DownBlocks[0]).Attentions[0]));
        Assert.Equal(4, HeadsOf(model.MidBlock.Attentions[0]));
        Assert.Equal(2, HeadsOf(((CrossAttnUpBlock2D)model.UpBlocks[1]).Attentions[0]));
        Assert.Equal(16, ((CrossAttnDownBlock2D)model.DownBlocks[0]).Attentions[0].TransformerBlocks[0].CrossAttention.HeadDim);
        Assert.Equal(16, model.MidBlock.Attentions[0].TransformerBlocks[0].SelfAttention.HeadDim);

        using var _ = no_grad();
        var sample = randn(2, 4, 8, 8);
        var context = randn(2, 5, 24);
        var result = model.forward(sample, tensor(new long[] { 10, 900 }), context);
        Assert.Equal(new long[] { 2, 4, 8, 8 }, result.shape);
        Assert.True(result.isfinite().all().item<bool>());
        Assert.True(result.abs().max().item<float>() > 0);

        // A size that is not a multiple of the downsampling factor: the upsampler matches the skip's size.
        var odd = model.forward(randn(1, 4, 9, 7), 500L, randn(1, 3, 24));
        Assert.Equal(new long[] { 1, 4, 9, 7 }, odd.shape);
    }

    private static int HeadsOf(Transformer2DModel transformer)
    {
        var block = transformer.TransformerBlocks[0];
        Assert.Equal(block.SelfAttention.Heads, block.CrossAttention.Heads);
        return block.SelfAttention.Heads;
    }
}
