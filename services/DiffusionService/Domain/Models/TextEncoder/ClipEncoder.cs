using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>The stack of CLIP encoder layers (state-dict names <c>encoder.layers.{i}.…</c>).</summary>
public sealed class ClipEncoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(ClipTextConfig config) : base(nameof(ClipEncoder))
    {
        layers = new ModuleList<ClipEncoderLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++)
            layers.Add(new ClipEncoderLayer(config));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var state = hiddenStates;
        foreach (var layer in layers)
            state = layer.forward(state);
        return state.MoveToOuterDisposeScope();
    }
}
