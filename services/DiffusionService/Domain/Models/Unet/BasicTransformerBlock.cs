using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// Pre-LayerNorm transformer block over image tokens: self-attention, cross-attention to the text context, GEGLU
/// feed-forward, each added back to its input. LayerNorms use eps 1e-5.
/// </summary>
public sealed class BasicTransformerBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private const double LayerNormEps = 1e-5;

    private readonly LayerNorm norm1;
    private readonly Attention attn1;
    private readonly LayerNorm norm2;
    private readonly Attention attn2;
    private readonly LayerNorm norm3;
    private readonly FeedForward ff;

    public Attention SelfAttention => attn1;
    public Attention CrossAttention => attn2;

    public BasicTransformerBlock(int dim, int heads, int headDim, int crossAttentionDim, double dropoutProbability,
                                 bool upcastAttention, Device device)
        : base(nameof(BasicTransformerBlock))
    {
        norm1 = NormalizationLayers.LayerNorm(dim, LayerNormEps, device);
        attn1 = new Attention(dim, contextDim: null, heads, headDim, dropoutProbability, upcastAttention, device);
        norm2 = NormalizationLayers.LayerNorm(dim, LayerNormEps, device);
        attn2 = new Attention(dim, crossAttentionDim, heads, headDim, dropoutProbability, upcastAttention, device);
        norm3 = NormalizationLayers.LayerNorm(dim, LayerNormEps, device);
        ff = new FeedForward(dim, dropoutProbability, device);
        RegisterComponents();
    }

    /// <param name="hidden">[N, tokens, dim]</param>
    /// <param name="context">[N, S, cross_attention_dim] text embeddings.</param>
    public override Tensor forward(Tensor hidden, Tensor context)
    {
        using var scope = NewDisposeScope();
        hidden = attn1.call(norm1.call(hidden), null).Plus(hidden);
        hidden = attn2.call(norm2.call(hidden), context).Plus(hidden);
        hidden = ff.call(norm3.call(hidden)).Plus(hidden);
        return hidden.MoveToOuterDisposeScope();
    }
}
