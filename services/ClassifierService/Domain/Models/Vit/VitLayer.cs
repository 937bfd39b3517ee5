using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>One pre-LayerNorm encoder layer: x + attention(ln_before(x)), then y + mlp(ln_after(y)).</summary>
public sealed class VitLayer : nn.Module<Tensor, Tensor>
{
    private readonly VitAttention attention;
    private readonly VitIntermediate intermediate;
    private readonly VitOutput output;
    private readonly LayerNorm layernorm_before;
    private readonly LayerNorm layernorm_after;

    public VitLayer(VitConfig config) : base(nameof(VitLayer))
    {
        attention = new VitAttention(config);
        intermediate = new VitIntermediate(config);
        output = new VitOutput(config);
        layernorm_before = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        layernorm_after = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var attended = attention.forward(layernorm_before.forward(hiddenStates)).Plus(hiddenStates);
        var result = output.forward(intermediate.forward(layernorm_after.forward(attended)), attended);
        return result.MoveToOuterDisposeScope();
    }
}
