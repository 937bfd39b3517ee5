using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// A down stage of (resnet, spatial transformer) pairs attending to the text, optionally followed by a strided-conv
/// downsampler.
/// </summary>
public sealed class CrossAttnDownBlock2D : UNetDownBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<Downsample2D>? downsamplers;

    public IReadOnlyList<Transformer2DModel> Attentions => [.. attentions];

    public CrossAttnDownBlock2D(int inChannels, int outChannels, int layers, ResnetSettings resnet,
                                CrossAttentionSettings attention, bool addDownsample, int downsamplePadding,
                                Device device)
        : base(nameof(CrossAttnDownBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(i => resnet.Create(i == 0 ? inChannels : outChannels, outChannels, device))
            .ToArray());
        attentions = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(_ => attention.Create(outChannels, device))
            .ToArray());
        if (addDownsample)
            downsamplers = nn.ModuleList(new Downsample2D(outChannels, downsamplePadding, device));
        RegisterComponents();
    }

    public override (Tensor Output, IReadOnlyList<Tensor> Skips) forward(Tensor hidden, Tensor temb, Tensor context)
    {
        var skips = new List<Tensor>();
        for (int i = 0; i < resnets.Count; i++)
        {
            hidden = resnets[i].call(hidden, temb);
            hidden = attentions[i].call(hidden, context);
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
