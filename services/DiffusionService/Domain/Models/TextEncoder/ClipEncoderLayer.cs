using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>One pre-LayerNorm transformer layer: x + attn(ln1(x)), then x + mlp(ln2(x)).</summary>
public sealed class ClipEncoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly ClipAttention self_attn;
    private readonly LayerNorm layer_norm1;
    private readonly ClipMlp mlp;
    private readonly LayerNorm layer_norm2;

    public ClipEncoderLayer(ClipTextConfig config) : base(nameof(ClipEncoderLayer))
    {
        self_attn = new ClipAttention(config);
        layer_norm1 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        mlp = new ClipMlp(config);
        layer_norm2 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var attended = hiddenStates.Plus(self_attn.forward(layer_norm1.forward(hiddenStates)));
        var output = attended.Plus(mlp.forward(layer_norm2.forward(attended)));
        return output.MoveToOuterDisposeScope();
    }
}
