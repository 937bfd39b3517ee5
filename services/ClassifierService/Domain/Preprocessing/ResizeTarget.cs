namespace DiscriminativeTokens.Classification.Preprocessing;

/// <summary>How a resize step chooses the output size.</summary>
public enum ResizeTarget
{
    /// <summary>
    /// The shorter side becomes the given size and the aspect ratio is kept, the longer side truncated to an integer as
    /// kornia's <c>resize(image, size:int)</c> computes it (also torchvision's and transformers' shortest-edge resize).
    /// </summary>
    ShorterSide,

    /// <summary>Exactly the given height and width.</summary>
    Exact,
}
