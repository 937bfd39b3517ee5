namespace DiscriminativeTokens.Classification.Preprocessing;

/// <summary>Where a center crop starts when the size difference is odd (the centre falls between pixels).</summary>
public enum CenterCropStyle
{
    /// <summary>
    /// kornia 0.6.11 <c>center_crop</c>: a bilinear warp (align_corners=True) starting at (in − out)/2, so a
    /// half-pixel offset averages the two neighbouring pixels; whole offsets are plain slices. The reference method's
    /// crop.
    /// </summary>
    Kornia,

    /// <summary>torchvision <c>center_crop</c>: the offset rounded half to even, <c>int(round((in − out) / 2))</c>.</summary>
    Torchvision,

    /// <summary>transformers' image processors: the offset rounded down, <c>(in − out) // 2</c>.</summary>
    Transformers,
}
