using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>The stack of encoder layers (<c>encoder.layer.{i}</c>).</summary>
public sealed class VitEncoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<VitLayer> layer;

    public VitEncoder(VitConfig config) : base(nameof(VitEncoder))
    {
        layer = new ModuleList<VitLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new VitLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var current = hiddenStates;
        foreach (var encoderLayer in layer)
            current = encoderLayer.forward(current);
        return current.MoveToOuterDisposeScope();
    }
}
