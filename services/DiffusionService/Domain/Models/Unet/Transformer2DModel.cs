using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// Spatial transformer over a feature map: GroupNorm (eps 1e-6), proj_in, the pixels as tokens through
/// BasicTransformerBlocks, proj_out, plus the input. proj_in/proj_out are 1x1 convolutions (SD 1.x) or Linear layers
/// applied after flattening (SD 2.x, use_linear_projection) — the same map with differently shaped weights.
/// </summary>
public sealed class Transformer2DModel : nn.Module<Tensor, Tensor, Tensor>
{
    private const double GroupNormEps = 1e-6;

    private readonly GroupNorm norm;
    private readonly nn.Module<Tensor, Tensor> proj_in;
    private readonly ModuleList<BasicTransformerBlock> transformer_blocks;
    private readonly nn.Module<Tensor, Tensor> proj_out;
    private readonly bool _linearProjection;

    public IReadOnlyList<BasicTransformerBlock> TransformerBlocks => [.. transformer_blocks];

    /// <param name="heads">Attention heads.</param>
    /// <param name="headDim">Width of one head; heads·headDim is the token width inside the block.</param>
    /// <param name="inChannels">Channels of the feature map.</param>
    /// <param name="layers">Number of BasicTransformerBlocks.</param>
    public Transformer2DModel(int heads, int headDim, int inChannels, int layers, int crossAttentionDim, int groups,
                              bool linearProjection, bool upcastAttention, Device device)
        : base(nameof(Transformer2DModel))
    {
        int inner = heads * headDim;
        norm = NormalizationLayers.GroupNorm(groups, inChannels, GroupNormEps, device);
        proj_in = linearProjection
            ? nn.Linear(inChannels, inner, hasBias: true, device: device)
            : nn.Conv2d(inChannels, inner, kernel_size: 1, stride: 1, device: device);
        // diffusers' UNet blocks never pass their dropout on to the transformer, so it is always 0 here.
        transformer_blocks = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(_ => new BasicTransformerBlock(inner, heads, headDim, crossAttentionDim, 0.0, upcastAttention, device))
            .ToArray());
        proj_out = linearProjection
            ? nn.Linear(inner, inChannels, hasBias: true, device: device)
            : nn.Conv2d(inner, inChannels, kernel_size: 1, stride: 1, device: device);
        _linearProjection = linearProjection;
        RegisterComponents();
    }

    /// <param name="input">[N, C, H, W]</param>
    /// <param name="context">[N, S, cross_attention_dim]</param>
    public override Tensor forward(Tensor input, Tensor context)
    {
        using var scope = NewDisposeScope();
        long batch = input.shape[0], height = input.shape[2], width = input.shape[3];
        var hidden = norm.call(input);
        if (_linearProjection)
            hidden = proj_in.call(ToTokens(hidden, batch, height, width));
        else
            hidden = ToTokens(proj_in.call(hidden), batch, height, width);

        foreach (var block in transformer_blocks)
            hidden = block.call(hidden, context);

        if (_linearProjection)
            hidden = ToFeatureMap(proj_out.call(hidden), batch, height, width);
        else
            hidden = proj_out.call(ToFeatureMap(hidden, batch, height, width));
        return hidden.Plus(input).MoveToOuterDisposeScope();
    }

    /// <summary>[N, C, H, W] → [N, H·W, C] (row-major pixels).</summary>
    private static Tensor ToTokens(Tensor map, long batch, long height, long width) =>
        map.permute(0, 2, 3, 1).reshape(batch, height * width, map.shape[1]);

    /// <summary>[N, H·W, C] → [N, C, H, W], contiguous for the convolutions that follow.</summary>
    private static Tensor ToFeatureMap(Tensor tokens, long batch, long height, long width) =>
        tokens.reshape(batch, height, width, tokens.shape[2]).permute(0, 3, 1, 2).contiguous();
}
