namespace DiscriminativeTokens.Parity;

/// <summary>
/// How close a result must be: max |actual − reference| ≤ <see cref="Relative"/> · max(<see cref="Floor"/>,
/// max |reference|). Relative 0 means exact equality (integer tensors are always compared exactly).
/// </summary>
public sealed record Tolerance(string Description, double Relative, double Floor = 1.0)
{
    public static Tolerance Exact { get; } = new("exact", 0);

    /// <summary>Model forward passes (tokenizer-to-image): float32 kernels differ from PyTorch's in rounding.</summary>
    public static Tolerance Forward { get; } = new("1e-4*max(1,max|ref|)", 1e-4);

    /// <summary>Scheduler arithmetic on fixed model outputs: only a few float32 operations per step.</summary>
    public static Tolerance Scheduler { get; } = new("1e-5*max(1,max|ref|)", 1e-5);

    /// <summary>
    /// Gradients with respect to images: relative to the gradient's own scale, however small (a loss gradient spread over
    /// thousands of pixels is far below 1 everywhere), so no floor of 1. A zero reference allows only an exact zero.
    /// </summary>
    public static Tolerance Gradient { get; } = new("1e-3*max|ref|", 1e-3, Floor: 0);

    public bool IsExact => Relative == 0;

    /// <summary>The absolute error allowed for a reference whose largest magnitude is <paramref name="maxAbsReference"/>.</summary>
    public double Limit(double maxAbsReference) => IsExact ? 0 : Relative * Math.Max(Floor, maxAbsReference);
}
