namespace DiscriminativeTokens.Classification;

/// <summary>What a loaded classifier is and what it accepts.</summary>
/// <param name="ModelId">Model identity, e.g. a hub id or a folder name.</param>
/// <param name="Architecture">One-line description of the network.</param>
/// <param name="Labels">Label of each class id, in id order.</param>
/// <param name="Preprocessing">What is done to an image before the network.</param>
/// <param name="MinImageSide">Smallest accepted image height or width.</param>
/// <param name="MaxImageSide">Largest accepted image height or width.</param>
/// <param name="MaxBatchSize">Largest batch one call may carry.</param>
public sealed record ClassifierInfo(
    string ModelId,
    string Architecture,
    IReadOnlyList<string> Labels,
    string Preprocessing,
    int MinImageSide,
    int MaxImageSide,
    int MaxBatchSize)
{
    public int NumClasses => Labels.Count;

    /// <summary>Images are RGB.</summary>
    public const int Channels = 3;

    public const float MinValue = 0f;
    public const float MaxValue = 1f;
}
