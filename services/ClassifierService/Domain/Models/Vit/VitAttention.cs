using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>Self-attention followed by its output projection (<c>attention.attention.*</c>, <c>attention.output.*</c>).</summary>
public sealed class VitAttention : nn.Module<Tensor, Tensor>
{
    private readonly VitSelfAttention attention;
    private readonly VitSelfOutput output;

    public VitAttention(VitConfig config) : base(nameof(VitAttention))
    {
        attention = new VitSelfAttention(config);
        output = new VitSelfOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var attended = attention.forward(hiddenStates);
        return output.forward(attended);
    }
}
