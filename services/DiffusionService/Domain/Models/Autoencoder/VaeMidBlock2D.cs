using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>diffusers' <c>UNetMidBlock2D</c> in the VAE: resnet, (attention, resnet), at constant width.</summary>
public sealed class VaeMidBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<VaeAttention>? attentions;
    private readonly ModuleList<VaeResnetBlock2D> resnets;

    public VaeMidBlock2D(int channels, int groups, bool addAttention) : base(nameof(VaeMidBlock2D))
    {
        resnets = new ModuleList<VaeResnetBlock2D>(
            new VaeResnetBlock2D(channels, channels, groups),
            new VaeResnetBlock2D(channels, channels, groups));
        attentions = addAttention ? new ModuleList<VaeAttention>(new VaeAttention(channels, groups)) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = resnets[0].forward(input);
        if (attentions is not null)
            hidden = attentions[0].forward(hidden);
        hidden = resnets[1].forward(hidden);
        return hidden.MoveToOuterDisposeScope();
    }
}
