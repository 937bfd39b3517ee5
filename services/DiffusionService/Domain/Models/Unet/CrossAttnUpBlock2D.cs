using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// An up stage of (resnet, spatial transformer) pairs: each resnet takes the running features concatenated (on
/// channels) with one skip tensor, consumed from the last; optionally followed by an upsampler.
/// </summary>
public sealed class CrossAttnUpBlock2D : UNetUpBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<Upsample2D>? upsamplers;

    public override int SkipCount => resnets.Count;
    public IReadOnlyList<Transformer2DModel> Attentions => [.. attentions];

    /// <param name="inChannels">Width of the down stage whose first skip the last resnet receives.</param>
    /// <param name="prevOutputChannels">Width of the features entering this stage.</param>
    public CrossAttnUpBlock2D(int inChannels, int prevOutputChannels, int outChannels, int layers,
                              ResnetSettings resnet, CrossAttentionSettings attention, bool addUpsample, Device device)
        : base(nameof(CrossAttnUpBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(i => resnet.Create(UpStageChannels.ResnetInput(i, layers, inChannels, prevOutputChannels, outChannels),
                                       outChannels, device))
            .ToArray());
        attentions = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(_ => attention.Create(outChannels, device))
            .ToArray());
        if (addUpsample)
            upsamplers = nn.ModuleList(new Upsample2D(outChannels, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, IReadOnlyList<Tensor> skips, Tensor temb, Tensor context,
                                   long[]? upsampleSize)
    {
        UpStageChannels.RequireSkips(skips, SkipCount);
        using var scope = NewDisposeScope();
        for (int i = 0; i < resnets.Count; i++)
        {
            hidden = resnets[i].call(cat([hidden, skips[skips.Count - 1 - i]], 1), temb);
            hidden = attentions[i].call(hidden, context);
        }
        if (upsamplers is not null)
            foreach (var upsampler in upsamplers)
                hidden = upsampler.call(hidden, upsampleSize);
        return hidden.MoveToOuterDisposeScope();
    }
}
