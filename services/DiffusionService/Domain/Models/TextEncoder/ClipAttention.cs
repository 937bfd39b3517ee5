using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>Multi-head causal self-attention of the CLIP text transformer (each token sees itself and earlier ones).</summary>
public sealed class ClipAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear q_proj;
    private readonly Linear out_proj;
    private readonly int _heads;
    private readonly int _headDim;

    public ClipAttention(ClipTextConfig config) : base(nameof(ClipAttention))
    {
        k_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        v_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        q_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        out_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        long batch = hiddenStates.shape[0], length = hiddenStates.shape[1], width = hiddenStates.shape[2];
        Tensor SplitHeads(Tensor x) => x.view(batch, length, _heads, _headDim).transpose(1, 2);
        var query = SplitHeads(q_proj.forward(hiddenStates));
        var key = SplitHeads(k_proj.forward(hiddenStates));
        var value = SplitHeads(v_proj.forward(hiddenStates));
        // The default 1/sqrt(head_dim) scale is CLIP's; the causal mask is what transformers builds for CLIP text.
        var attended = nn.functional.scaled_dot_product_attention(query, key, value, is_casual: true);
        var merged = attended.transpose(1, 2).reshape(batch, length, width);
        return out_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
