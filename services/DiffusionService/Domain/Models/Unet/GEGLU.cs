using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// Gated GELU unit: one Linear projects to twice the output width; the first half is multiplied by the exact
/// (erf) GELU of the second half.
/// </summary>
public sealed class GEGLU : nn.Module<Tensor, Tensor>
{
    private readonly Linear proj;

    public GEGLU(int dimIn, int dimOut, Device device) : base(nameof(GEGLU))
    {
        proj = nn.Linear(dimIn, dimOut * 2, hasBias: true, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var halves = proj.call(input).chunk(2, -1);
        return (halves[0] * nn.functional.gelu(halves[1])).MoveToOuterDisposeScope();
    }
}
