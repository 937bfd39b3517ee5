namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>
/// Where a checkpoint keeps the layer norm applied before the head. transformers saves <c>vit.layernorm</c>;
/// MAE fine-tunes replace it by <c>fc_norm</c>, which conversions leave either inside <c>vit.</c> or at the top.
/// </summary>
public enum VitFinalNorm
{
    /// <summary><c>vit.layernorm.weight</c> / <c>.bias</c>.</summary>
    VitLayerNorm,

    /// <summary><c>vit.fc_norm.weight</c> / <c>.bias</c>.</summary>
    VitFcNorm,

    /// <summary><c>fc_norm.weight</c> / <c>.bias</c>, beside <c>classifier.*</c>.</summary>
    FcNorm,
}
