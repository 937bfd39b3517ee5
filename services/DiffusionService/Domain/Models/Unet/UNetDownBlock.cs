using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>A down (encoder) stage of the UNet: DownBlock2D or CrossAttnDownBlock2D.</summary>
public abstract class UNetDownBlock : nn.Module
{
    protected UNetDownBlock(string name) : base(name) { }

    /// <summary>
    /// Runs the stage. Returns its output and the tensors it hands to the up path as skip connections: the output of
    /// every layer, then the downsampled output when the stage downsamples.
    /// </summary>
    /// <param name="hidden">[N, C_in, H, W]</param>
    /// <param name="temb">[N, time_embed_dim]</param>
    /// <param name="context">[N, S, cross_attention_dim] text embeddings (unused by blocks without attention).</param>
    public abstract (Tensor Output, IReadOnlyList<Tensor> Skips) forward(Tensor hidden, Tensor temb, Tensor context);
}
