namespace DiscriminativeTokens.Classification.Models.ResNet;

/// <summary>The residual block of a torchvision ResNet.</summary>
public enum ResNetBlockKind
{
    /// <summary>Two 3×3 convolutions (ResNet-18/34), expansion 1.</summary>
    Basic,

    /// <summary>1×1 → 3×3 (strided) → 1×1 convolutions (ResNet-50/101/152), expansion 4.</summary>
    Bottleneck,
}
