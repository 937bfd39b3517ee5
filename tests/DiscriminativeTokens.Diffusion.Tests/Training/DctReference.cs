using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Training;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Training;

/// <summary>
/// The sd-tiny model and reference/dct.safetensors: one training forward/backward of the DCT reference run.py
/// (PNDM, 10 steps, CFG 7, "A photo of newclas cat", unpadded training tokenization, no init_noise_sigma or
/// scale_model_input). Shared by the tests of a class; xunit runs them one at a time.
/// </summary>
public sealed class DctReference : IDisposable
{
    public const string Prompt = "A photo of newclas cat";
    public const string Placeholder = "newclas";

    public DctReference()
    {
        Model = StableDiffusionModel.Load(RepositoryPaths.SdTiny, CPU);
        File = new SafetensorsFile(RepositoryPaths.SdTinyReference("dct.safetensors"));
        InitialLatents = File.Read("init_latent");
        PlaceholderInit = File.Read("placeholder_embedding_init").reshape(-1);
        Sampler = new TokenGradientSampler(Model);
    }

    public StableDiffusionModel Model { get; }
    public SafetensorsFile File { get; }
    public TokenGradientSampler Sampler { get; }
    public Tensor InitialLatents { get; }
    public Tensor PlaceholderInit { get; }

    /// <summary>run.py's settings; the reference's gradient modes map to ours as partial → Reference,
    /// lastonly → LastK(1), full → Full.</summary>
    public TokenGradientOptions Options(string referenceMode, GradientMemoryMode memory) => new()
    {
        Prompt = Prompt,
        Placeholder = Placeholder,
        NegativePrompt = "",
        InitialLatents = InitialLatents,
        Steps = 10,
        GuidanceScale = 7.0,
        Padding = PromptPaddingMode.ReferenceUnpadded,
        LoopStyle = SamplingLoopStyle.Reference,
        MemoryMode = memory,
        GradientMode = referenceMode switch
        {
            "partial" => GradientMode.Reference,
            "lastonly" => GradientMode.LastK(1),
            "full" => GradientMode.Full,
            _ => throw new ArgumentOutOfRangeException(nameof(referenceMode), referenceMode, null),
        },
    };

    public void Dispose()
    {
        InitialLatents.Dispose();
        PlaceholderInit.Dispose();
        File.Dispose();
        Model.Dispose();
    }
}
