using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>The sd-tiny model loaded in the test process, and the DCT reference tensors: what the service must match.</summary>
public sealed class InProcessModel : IDisposable
{
    public const string Prompt = "A photo of newclas cat";
    public const string Placeholder = "newclas";

    public InProcessModel()
    {
        Model = StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU);
        Dct = new SafetensorsFile(RepositoryPaths.SdTinyReference("dct.safetensors"));
    }

    public StableDiffusionModel Model { get; }

    /// <summary>reference/dct.safetensors: one training forward/backward of the DCT reference run.py.</summary>
    public SafetensorsFile Dct { get; }

    public void Dispose()
    {
        Dct.Dispose();
        Model.Dispose();
    }
}
