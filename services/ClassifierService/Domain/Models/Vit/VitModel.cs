using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>
/// transformers' <c>ViTModel</c> without a pooler (as ViTForImageClassification builds it). Its final layer norm is
/// named <c>layernorm</c>, or <c>fc_norm</c> in MAE fine-tunes; when a checkpoint keeps fc_norm outside <c>vit.</c>,
/// this module has none and the classifier owns it.
/// </summary>
public sealed class VitModel : nn.Module<Tensor, Tensor>
{
    private readonly VitEmbeddings embeddings;
    private readonly VitEncoder encoder;
    private readonly LayerNorm? layernorm;
    private readonly LayerNorm? fc_norm;

    public VitModel(VitConfig config, VitFinalNorm finalNorm) : base(nameof(VitModel))
    {
        embeddings = new VitEmbeddings(config);
        encoder = new VitEncoder(config);
        if (finalNorm == VitFinalNorm.VitLayerNorm)
            layernorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        else if (finalNorm == VitFinalNorm.VitFcNorm)
            fc_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>The final layer norm this module owns, if any.</summary>
    public LayerNorm? FinalNorm => layernorm ?? fc_norm;

    /// <summary>The last encoder layer's tokens [N, 1 + num_patches, hidden], before the final layer norm.</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var embedded = embeddings.forward(pixelValues);
        return encoder.forward(embedded);
    }
}
