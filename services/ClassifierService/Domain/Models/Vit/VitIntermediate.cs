using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>The first MLP projection, hidden_size → intermediate_size, with the configured activation.</summary>
public sealed class VitIntermediate : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly VitActivation _activation;

    public VitIntermediate(VitConfig config) : base(nameof(VitIntermediate))
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        _activation = config.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var projected = dense.forward(hiddenStates);
        return _activation.Apply(projected);
    }
}
