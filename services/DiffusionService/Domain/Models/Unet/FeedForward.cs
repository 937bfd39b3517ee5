using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// The transformer feed-forward of Stable Diffusion: net = [GEGLU(dim → 4·dim), Dropout, Linear(4·dim → dim)]. The
/// list layout is kept because the checkpoint names its layers net.0.proj and net.2.
/// </summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private const int Multiplier = 4;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> net;

    public FeedForward(int dim, double dropoutProbability, Device device) : base(nameof(FeedForward))
    {
        int inner = dim * Multiplier;
        net = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            new GEGLU(dim, inner, device),
            nn.Dropout(dropoutProbability),
            nn.Linear(inner, dim, hasBias: true, device: device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = input;
        foreach (var layer in net)
            hidden = layer.call(hidden);
        return hidden.MoveToOuterDisposeScope();
    }
}
