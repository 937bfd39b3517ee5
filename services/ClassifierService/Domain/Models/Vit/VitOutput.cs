using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>The second MLP projection, intermediate_size → hidden_size, plus the residual.</summary>
public sealed class VitOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;

    public VitOutput(VitConfig config) : base(nameof(VitOutput))
    {
        dense = nn.Linear(config.IntermediateSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor intermediate, Tensor residual)
    {
        using var projected = dense.forward(intermediate);
        return projected.Plus(residual);
    }
}
