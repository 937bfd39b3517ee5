using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>
/// The VAE mid block's single-head spatial self-attention (diffusers <c>Attention</c> with group_norm and a residual
/// connection; state-dict names of diffusers ≥ 0.14: to_q/to_k/to_v/to_out.0).
/// </summary>
public sealed class VaeAttention : nn.Module<Tensor, Tensor>
{
    private const double Eps = 1e-6;

    private readonly GroupNorm group_norm;
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly ModuleList<Linear> to_out;

    public VaeAttention(int channels, int groups) : base(nameof(VaeAttention))
    {
        group_norm = GroupNorms.Create(groups, channels, Eps);
        to_q = nn.Linear(channels, channels);
        to_k = nn.Linear(channels, channels);
        to_v = nn.Linear(channels, channels);
        to_out = new ModuleList<Linear>(nn.Linear(channels, channels));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        long batch = input.shape[0], channels = input.shape[1], height = input.shape[2], width = input.shape[3];
        // [B, C, H, W] -> one sequence of H*W pixel tokens per image, attended as one head of width C.
        var tokens = group_norm.forward(input).view(batch, channels, height * width).transpose(1, 2);
        var query = to_q.forward(tokens).unsqueeze(1);
        var key = to_k.forward(tokens).unsqueeze(1);
        var value = to_v.forward(tokens).unsqueeze(1);
        var attended = nn.functional.scaled_dot_product_attention(query, key, value).squeeze(1);
        var projected = to_out[0].forward(attended);
        var spatial = projected.transpose(1, 2).reshape(batch, channels, height, width);
        return spatial.Plus(input).MoveToOuterDisposeScope();
    }
}
