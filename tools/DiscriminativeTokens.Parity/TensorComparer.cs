using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity;

/// <summary>Compares a computed tensor with its reference (in float64, on the CPU).</summary>
public static class TensorComparer
{
    public static TensorComparison Compare(string component, string name, Tensor actual, Tensor expected, Tolerance tolerance)
    {
        long[] shape = expected.shape;
        if (!actual.shape.SequenceEqual(shape))
            return TensorComparison.Failure(component, name, shape, $"computed shape {Format(actual.shape)}");

        using var scope = NewDisposeScope();
        // Integer references (ids, integer timesteps) allow no error at all, whatever the check asked for.
        if (!expected.is_floating_point())
            tolerance = Tolerance.Exact;
        var reference = expected.detach().cpu().to(ScalarType.Float64);
        var computed = actual.detach().cpu().to(ScalarType.Float64);
        double error = reference.numel() == 0 ? 0 : (computed - reference).abs().max().item<double>();
        if (computed.isnan().any().item<bool>())
            error = double.NaN;
        double maxAbsReference = reference.numel() == 0 ? 0 : reference.abs().max().item<double>();
        return new TensorComparison(component, name, shape, error, tolerance.Limit(maxAbsReference), tolerance.IsExact)
        {
            Rule = tolerance.Description,
        };
    }

    public static string Format(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";
}
