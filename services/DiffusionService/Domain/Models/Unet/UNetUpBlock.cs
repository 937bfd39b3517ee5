using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>An up (decoder) stage of the UNet: UpBlock2D or CrossAttnUpBlock2D.</summary>
public abstract class UNetUpBlock : nn.Module
{
    protected UNetUpBlock(string name) : base(name) { }

    /// <summary>How many skip tensors the stage consumes (one per resnet).</summary>
    public abstract int SkipCount { get; }

    /// <param name="hidden">[N, C, H, W]</param>
    /// <param name="skips">The last <see cref="SkipCount"/> skip tensors in the order the down path produced them;
    /// the stage consumes them from the end.</param>
    /// <param name="temb">[N, time_embed_dim]</param>
    /// <param name="context">[N, S, cross_attention_dim] text embeddings (unused by blocks without attention).</param>
    /// <param name="upsampleSize">Exact output size for the upsampler, or null for 2x.</param>
    public abstract Tensor forward(Tensor hidden, IReadOnlyList<Tensor> skips, Tensor temb, Tensor context,
                                   long[]? upsampleSize);
}
