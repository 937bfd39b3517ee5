using System.Globalization;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Preprocessing;

/// <summary>Per-channel (x − mean) / std, as torchvision's Normalize.</summary>
public sealed record NormalizeStep
{
    public IReadOnlyList<double> Mean { get; }
    public IReadOnlyList<double> Std { get; }

    public NormalizeStep(IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        if (mean.Count != 3 || std.Count != 3)
            throw new ArgumentException($"Normalization needs 3 means and 3 standard deviations (RGB); got {mean.Count} and {std.Count}.");
        if (std.Any(s => !(s > 0) || double.IsInfinity(s)) || mean.Any(m => !double.IsFinite(m)))
            throw new ArgumentException($"Normalization needs finite means and positive standard deviations; got mean " +
                                        $"[{Format(mean)}], std [{Format(std)}].");
        Mean = mean.ToArray();
        Std = std.ToArray();
    }

    /// <summary>mean = std = 0.5 for every channel: [0, 1] → [−1, 1] (Google's ViT checkpoints).</summary>
    public static NormalizeStep Half { get; } = new([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);

    /// <summary>The ImageNet statistics torchvision and timm use.</summary>
    public static NormalizeStep ImageNet { get; } = new([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);

    public Tensor Apply(Tensor images)
    {
        using var mean = tensor(Mean.Select(m => (float)m).ToArray(), [1, 3, 1, 1], images.dtype, images.device);
        using var std = tensor(Std.Select(s => (float)s).ToArray(), [1, 3, 1, 1], images.dtype, images.device);
        using var centered = images - mean;
        return centered / std;
    }

    public string Describe() => $"normalize mean {Format(Mean)} std {Format(Std)}";

    private static string Format(IReadOnlyList<double> values) =>
        values.Distinct().Count() == 1
            ? values[0].ToString("0.######", CultureInfo.InvariantCulture)
            : "[" + string.Join(", ", values.Select(v => v.ToString("0.######", CultureInfo.InvariantCulture))) + "]";

    public bool Equals(NormalizeStep? other) =>
        other is not null && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    public override int GetHashCode() => HashCode.Combine(Mean[0], Std[0]);
}
