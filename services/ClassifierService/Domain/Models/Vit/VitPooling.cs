namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>Which final-layer representation the classification head reads.</summary>
public enum VitPooling
{
    /// <summary>The CLS token after the final layer norm (transformers' ViTForImageClassification).</summary>
    ClsToken,

    /// <summary>
    /// The mean of the final layer's patch tokens (CLS excluded), then the final layer norm: MAE-style fine-tunes such as
    /// the paper's CUB-200 and iNaturalist classifiers.
    /// </summary>
    MeanPatchTokens,
}
