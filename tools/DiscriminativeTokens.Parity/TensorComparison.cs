namespace DiscriminativeTokens.Parity;

/// <summary>
/// One compared tensor: the reference's shape, the max abs error against it, the absolute limit it had to stay within,
/// and a note when the comparison could not be made (shape mismatch, error while computing).
/// </summary>
public sealed record TensorComparison(string Component, string Name, IReadOnlyList<long> Shape, double MaxAbsError,
                                      double Limit, bool Exact, string? Note = null)
{
    /// <summary>How <see cref="Limit"/> was derived from the reference, e.g. "1e-3*max|ref|".</summary>
    public string? Rule { get; init; }

    /// <summary>NaN errors fail: NaN ≤ limit is false.</summary>
    public bool Passed => Note is null && MaxAbsError <= Limit;

    public static TensorComparison Failure(string component, string name, IReadOnlyList<long> shape, string note) =>
        new(component, name, shape, double.NaN, double.NaN, false, note);
}
