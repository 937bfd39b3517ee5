using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>The MLP activations a transformers ViT config may name in <c>hidden_act</c>.</summary>
public enum VitActivation
{
    /// <summary><c>gelu</c>: the exact erf GELU (every Google ViT checkpoint).</summary>
    Gelu,

    /// <summary><c>gelu_new</c> / <c>gelu_pytorch_tanh</c>: the tanh approximation.</summary>
    GeluTanh,

    /// <summary><c>quick_gelu</c>: x·sigmoid(1.702x).</summary>
    QuickGelu,

    /// <summary><c>relu</c>.</summary>
    Relu,
}

internal static class VitActivationFunctions
{
    public const string Supported = "\"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\", \"quick_gelu\" or \"relu\"";

    public static VitActivation? Parse(string name) => name switch
    {
        "gelu" => VitActivation.Gelu,
        "gelu_new" or "gelu_pytorch_tanh" => VitActivation.GeluTanh,
        "quick_gelu" => VitActivation.QuickGelu,
        "relu" => VitActivation.Relu,
        _ => null,
    };

    public static Tensor Apply(this VitActivation activation, Tensor x) => activation switch
    {
        VitActivation.Gelu => nn.functional.gelu(x),
        VitActivation.GeluTanh => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        VitActivation.QuickGelu => x * nn.functional.sigmoid(x.Times(1.702)),
        VitActivation.Relu => nn.functional.relu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };
}
