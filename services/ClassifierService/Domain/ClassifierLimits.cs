namespace DiscriminativeTokens.Classification;

/// <summary>What one call may carry.</summary>
/// <param name="MaxBatchSize">Largest number of images per call.</param>
/// <param name="MaxImageSide">Largest accepted image height or width, in pixels.</param>
/// <param name="RangeTolerance">How far values may lie outside [0, 1] (e.g. float rounding of a decoded image).</param>
public sealed record ClassifierLimits(int MaxBatchSize = 16, int MaxImageSide = 4096, double RangeTolerance = 1e-3)
{
    public static ClassifierLimits Default { get; } = new();
}
