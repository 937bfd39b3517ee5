namespace DiscriminativeTokens.Classification.Preprocessing;

/// <summary>Interpolation of a differentiable resize (torch interpolate, align_corners=False).</summary>
public enum ResizeInterpolation
{
    Bilinear,
    Bicubic,
}
