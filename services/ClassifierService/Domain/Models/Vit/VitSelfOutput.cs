using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>The attention output projection (the residual is added by the layer, as in transformers' ViT).</summary>
public sealed class VitSelfOutput : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    public VitSelfOutput(VitConfig config) : base(nameof(VitSelfOutput))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor attended) => dense.forward(attended);
}
