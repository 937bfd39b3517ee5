using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>Multi-head self-attention over all tokens (no mask), softmax(QKᵀ/√head_dim)·V.</summary>
public sealed class VitSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly int _heads;
    private readonly int _headDim;

    public VitSelfAttention(VitConfig config) : base(nameof(VitSelfAttention))
    {
        query = nn.Linear(config.HiddenSize, config.HiddenSize, hasBias: config.QkvBias);
        key = nn.Linear(config.HiddenSize, config.HiddenSize, hasBias: config.QkvBias);
        value = nn.Linear(config.HiddenSize, config.HiddenSize, hasBias: config.QkvBias);
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        RegisterComponents();
    }

    /// <summary>The attended values [N, L, hidden], heads merged back (before the output projection).</summary>
    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        long batch = hiddenStates.shape[0], length = hiddenStates.shape[1], width = hiddenStates.shape[2];
        Tensor SplitHeads(Tensor x) => x.view(batch, length, _heads, _headDim).transpose(1, 2);
        // The default 1/sqrt(head_dim) scale is the one transformers' ViT applies.
        var attended = nn.functional.scaled_dot_product_attention(
            SplitHeads(query.forward(hiddenStates)), SplitHeads(key.forward(hiddenStates)), SplitHeads(value.forward(hiddenStates)));
        return attended.transpose(1, 2).reshape(batch, length, width).MoveToOuterDisposeScope();
    }
}
