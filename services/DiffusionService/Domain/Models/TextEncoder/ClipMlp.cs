using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>CLIP's feed-forward block: fc1, activation, fc2.</summary>
public sealed class ClipMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly ClipActivation _activation;

    public ClipMlp(ClipTextConfig config) : base(nameof(ClipMlp))
    {
        fc1 = nn.Linear(config.HiddenSize, config.IntermediateSize);
        fc2 = nn.Linear(config.IntermediateSize, config.HiddenSize);
        _activation = config.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var hidden = fc1.forward(hiddenStates);
        using var activated = Activate(hidden);
        return fc2.forward(activated);
    }

    private Tensor Activate(Tensor x) => _activation switch
    {
        ClipActivation.QuickGelu => QuickGelu(x),
        ClipActivation.Gelu => nn.functional.gelu(x),
        ClipActivation.GeluTanh => nn.functional.gelu(x, GELU.Approximate.tanh),
        _ => throw new InvalidOperationException($"Unknown activation {_activation}."),
    };

    private static Tensor QuickGelu(Tensor x)
    {
        using var gate = torch.sigmoid(x.Times(1.702));
        return x * gate;
    }
}
