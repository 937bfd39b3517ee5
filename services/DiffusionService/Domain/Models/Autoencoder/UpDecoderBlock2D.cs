using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>diffusers' <c>UpDecoderBlock2D</c>: resnet blocks, then an upsampler except in the last block.</summary>
public sealed class UpDecoderBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<VaeResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D>? upsamplers;

    public UpDecoderBlock2D(int inChannels, int outChannels, int layers, int groups, bool addUpsample)
        : base(nameof(UpDecoderBlock2D))
    {
        resnets = new ModuleList<VaeResnetBlock2D>();
        for (int i = 0; i < layers; i++)
            resnets.Add(new VaeResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, groups));
        upsamplers = addUpsample ? new ModuleList<Upsample2D>(new Upsample2D(outChannels)) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = input;
        foreach (var resnet in resnets)
            hidden = resnet.forward(hidden);
        if (upsamplers is not null)
            foreach (var upsampler in upsamplers)
                hidden = upsampler.forward(hidden);
        return hidden.MoveToOuterDisposeScope();
    }
}
