using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity;

/// <summary>
/// One component's comparisons with its reference file. <see cref="Run"/> yields one row per reference tensor, lazily,
/// so the command can report each as it is made. New components (e.g. classifiers) are new subclasses listed in
/// <see cref="ParityChecks"/>.
/// </summary>
public abstract class ParityCheck
{
    /// <summary>The name used on the command line (--only) and in the first column of the report.</summary>
    public abstract string Component { get; }

    /// <summary>What the check compares, for --help.</summary>
    public abstract string Description { get; }

    public abstract IEnumerable<TensorComparison> Run(ParityFixture fixture);

    /// <summary>
    /// Computes one tensor and compares it with its reference, without gradients and inside a dispose scope of its
    /// own, so a check frees everything between rows.
    /// </summary>
    protected TensorComparison Compare(string name, Tolerance tolerance, Func<Tensor> expected, Func<Tensor> actual)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return TensorComparer.Compare(Component, name, actual(), expected(), tolerance);
    }

    /// <summary>Compares a computed tensor with the reference tensor of the same name.</summary>
    protected TensorComparison Compare(ReferenceFile file, string name, Tolerance tolerance, Func<Tensor> actual) =>
        Compare(name, tolerance, () => file.Read(name), actual);

    /// <summary>
    /// Several reference tensors of <paramref name="file"/> that one computation produces (a trajectory, a pipeline
    /// run): computes them once, in one scope, and compares each with the reference tensor of its name.
    /// </summary>
    protected IReadOnlyList<TensorComparison> CompareTogether(
        ReferenceFile file, Func<IEnumerable<(string Name, Tolerance Tolerance, Tensor Actual)>> compute)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return compute().Select(r => TensorComparer.Compare(Component, r.Name, r.Actual, file.Read(r.Name), r.Tolerance)).ToList();
    }

    /// <summary>Integer ids as an int64 tensor, row per list.</summary>
    protected static Tensor Int64Rows(IReadOnlyList<IReadOnlyList<int>> rows)
    {
        int width = rows.Count == 0 ? 0 : rows[0].Count;
        if (rows.Any(r => r.Count != width))
            return tensor(rows.SelectMany(r => r).Select(v => (long)v).ToArray()); // shape mismatch reported by the comparer
        return tensor(rows.SelectMany(r => r).Select(v => (long)v).ToArray(), new long[] { rows.Count, width });
    }
}
