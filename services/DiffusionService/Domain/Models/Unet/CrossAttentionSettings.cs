using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// The spatial transformers of one UNet stage: heads (the config's attention_head_dim, see
/// <see cref="UNet2DConditionConfig.AttentionHeadDim"/>), transformer depth, text width, projection kind.
/// </summary>
public sealed record CrossAttentionSettings(int Heads, int TransformerLayers, int CrossAttentionDim, int Groups,
                                            bool LinearProjection, bool UpcastAttention)
{
    /// <summary>A Transformer2DModel over <paramref name="channels"/> channels; the head size is channels / heads.</summary>
    public Transformer2DModel Create(int channels, torch.Device device) =>
        new(Heads, channels / Heads, channels, TransformerLayers, CrossAttentionDim, Groups, LinearProjection,
            UpcastAttention, device);
}
