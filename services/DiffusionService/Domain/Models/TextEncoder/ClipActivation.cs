namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>The MLP activations transformers' CLIP text model accepts in <c>hidden_act</c>.</summary>
public enum ClipActivation
{
    /// <summary><c>quick_gelu</c>: x·sigmoid(1.702x), OpenAI CLIP (SD 1.x).</summary>
    QuickGelu,

    /// <summary><c>gelu</c>: the exact erf GELU, OpenCLIP (SD 2.x).</summary>
    Gelu,

    /// <summary><c>gelu_new</c> / <c>gelu_pytorch_tanh</c>: the tanh approximation.</summary>
    GeluTanh,
}
