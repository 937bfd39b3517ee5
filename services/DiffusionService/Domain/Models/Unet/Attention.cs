using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// diffusers' Attention as Stable Diffusion's transformer blocks use it: bias-free to_q/to_k/to_v, multi-head scaled
/// dot-product attention (scale 1/sqrt(head size)), then to_out = [Linear with bias, Dropout]. Without a context it
/// is self-attention; with one, keys and values come from the context (cross-attention).
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> to_out;
    private readonly bool _upcast;

    public int Heads { get; }
    public int HeadDim { get; }

    /// <param name="queryDim">Width of the attending tokens (and of the output).</param>
    /// <param name="contextDim">Width of the context tokens; null for self-attention.</param>
    /// <param name="upcast">Run the attention math in float32 when the inputs are half precision.</param>
    public Attention(int queryDim, int? contextDim, int heads, int headDim, double dropoutProbability, bool upcast,
                     Device device)
        : base(nameof(Attention))
    {
        int inner = heads * headDim;
        int keyDim = contextDim ?? queryDim;
        to_q = nn.Linear(queryDim, inner, hasBias: false, device: device);
        to_k = nn.Linear(keyDim, inner, hasBias: false, device: device);
        to_v = nn.Linear(keyDim, inner, hasBias: false, device: device);
        to_out = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            nn.Linear(inner, queryDim, hasBias: true, device: device),
            nn.Dropout(dropoutProbability));
        Heads = heads;
        HeadDim = headDim;
        _upcast = upcast;
        RegisterComponents();
    }

    /// <param name="hidden">[N, L, query_dim]</param>
    /// <param name="context">[N, S, context_dim], or null for self-attention.</param>
    /// <returns>[N, L, query_dim]</returns>
    public override Tensor forward(Tensor hidden, Tensor? context)
    {
        using var scope = NewDisposeScope();
        context ??= hidden;
        long batch = hidden.shape[0];
        var query = SplitHeads(to_q.call(hidden), batch);
        var key = SplitHeads(to_k.call(context), batch);
        var value = SplitHeads(to_v.call(context), batch);

        var dtype = query.dtype;
        if (_upcast && dtype is ScalarType.Float16 or ScalarType.BFloat16)
        {
            query = query.to(ScalarType.Float32);
            key = key.to(ScalarType.Float32);
            value = value.to(ScalarType.Float32);
        }
        var attended = nn.functional.scaled_dot_product_attention(query, key, value, is_casual: false).to(dtype);
        var merged = attended.transpose(1, 2).reshape(batch, -1, Heads * HeadDim);
        var output = to_out[1].call(to_out[0].call(merged));
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>[N, L, heads*head_dim] → [N, heads, L, head_dim].</summary>
    private Tensor SplitHeads(Tensor projected, long batch) =>
        projected.view(batch, -1, Heads, HeadDim).transpose(1, 2);
}
