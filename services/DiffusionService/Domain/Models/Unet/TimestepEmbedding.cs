using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>The time-embedding MLP: linear_1 → SiLU → linear_2, from the sinusoidal features to the block width.</summary>
public sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear_1;
    private readonly Linear linear_2;

    public TimestepEmbedding(int inChannels, int timeEmbedDim, Device device) : base(nameof(TimestepEmbedding))
    {
        linear_1 = nn.Linear(inChannels, timeEmbedDim, hasBias: true, device: device);
        linear_2 = nn.Linear(timeEmbedDim, timeEmbedDim, hasBias: true, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        return linear_2.call(nn.functional.silu(linear_1.call(features))).MoveToOuterDisposeScope();
    }
}
