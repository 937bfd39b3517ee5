using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>A down stage of resnets only (SD's deepest stage), optionally followed by a strided-conv downsampler.</summary>
public sealed class DownBlock2D : UNetDownBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;

    public DownBlock2D(int inChannels, int outChannels, int layers, ResnetSettings resnet, bool addDownsample,
                       int downsamplePadding, Device device)
        : base(nameof(DownBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(i => resnet.Create(i == 0 ? inChannels : outChannels, outChannels, device))
            .ToArray());
        if (addDownsample)
            downsamplers = nn.ModuleList(new Downsample2D(outChannels, downsamplePadding, device));
        RegisterComponents();
    }

    public override (Tensor Output, IReadOnlyList<Tensor> Skips) forward(Tensor hidden, Tensor temb, Tensor context)
    {
        var skips = new List<Tensor>();
        foreach (var resnet in resnets)
        {
            hidden = resnet.call(hidden, temb);
            skips.Add(hidden);
        }
        if (downsamplers is not null)
        {
            foreach (var downsampler in downsamplers)
                hidden = downsampler.call(hidden);
            skips.Add(hidden);
        }
        return (hidden, skips);
    }
}
