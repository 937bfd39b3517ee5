using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>diffusers' <c>DownEncoderBlock2D</c>: resnet blocks, then a downsampler except in the last block.</summary>
public sealed class DownEncoderBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<VaeResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;

    public DownEncoderBlock2D(int inChannels, int outChannels, int layers, int groups, bool addDownsample)
        : base(nameof(DownEncoderBlock2D))
    {
        resnets = new ModuleList<VaeResnetBlock2D>();
        for (int i = 0; i < layers; i++)
            resnets.Add(new VaeResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, groups));
        downsamplers = addDownsample ? new ModuleList<Downsample2D>(new Downsample2D(outChannels)) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = input;
        foreach (var resnet in resnets)
            hidden = resnet.forward(hidden);
        if (downsamplers is not null)
            foreach (var downsampler in downsamplers)
                hidden = downsampler.forward(hidden);
        return hidden.MoveToOuterDisposeScope();
    }
}
