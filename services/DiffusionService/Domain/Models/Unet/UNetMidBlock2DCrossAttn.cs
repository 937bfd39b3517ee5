using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>The bottleneck: resnet, then (spatial transformer, resnet) once, at constant width.</summary>
public sealed class UNetMidBlock2DCrossAttn : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private const int Layers = 1;

    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;

    public IReadOnlyList<Transformer2DModel> Attentions => [.. attentions];

    /// <param name="outputScaleFactor">The config's mid_block_scale_factor; divides every resnet output.</param>
    public UNetMidBlock2DCrossAttn(int channels, ResnetSettings resnet, CrossAttentionSettings attention,
                                   double outputScaleFactor, Device device)
        : base(nameof(UNetMidBlock2DCrossAttn))
    {
        attentions = nn.ModuleList(Enumerable.Range(0, Layers)
            .Select(_ => attention.Create(channels, device))
            .ToArray());
        resnets = nn.ModuleList(Enumerable.Range(0, Layers + 1)
            .Select(_ => resnet.Create(channels, channels, device, outputScaleFactor))
            .ToArray());
        RegisterComponents();
    }

    /// <param name="hidden">[N, C, H, W]</param>
    /// <param name="temb">[N, time_embed_dim]</param>
    /// <param name="context">[N, S, cross_attention_dim]</param>
    public override Tensor forward(Tensor hidden, Tensor temb, Tensor context)
    {
        hidden = resnets[0].call(hidden, temb);
        for (int i = 0; i < attentions.Count; i++)
        {
            hidden = attentions[i].call(hidden, context);
            hidden = resnets[i + 1].call(hidden, temb);
        }
        return hidden;
    }
}
