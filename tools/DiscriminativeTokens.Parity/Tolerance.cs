namespace DiscriminativeTokens.Parity;

/// <summary>
/// How close a result must be: max |actual − reference| ≤ <see cref="Relative"/> · max(1, max |reference|). Relative 0
/// means exact equality (integer tensors are always compared exactly).
/// </summary>
public sealed record Tolerance(string Description, double Relative)
{
    public static Tolerance Exact { get; } = new("exact", 0);

    /// <summary>Model forward passes (tokenizer-to-image): float32 kernels differ from PyTorch's in rounding.</summary>
    public static Tolerance Forward { get; } = new("1e-4*max(1,max|ref|)", 1e-4);

    /// <summary>Scheduler arithmetic on fixed model outputs: only a few float32 operations per step.</summary>
    public static Tolerance Scheduler { get; } = new("1e-5*max(1,max|ref|)", 1e-5);

    public bool IsExact => Relative == 0;

    /// <summary>The absolute error allowed for a reference whose largest magnitude is <paramref name="maxAbsReference"/>.</summary>
    public double Limit(double maxAbsReference) => IsExact ? 0 : Relative * Math.Max(1.0, maxAbsReference);
}
