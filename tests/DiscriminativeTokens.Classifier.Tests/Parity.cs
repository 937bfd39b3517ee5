using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>Comparison against the upstream references, with the tolerance each kind of tensor gets.</summary>
internal static class Parity
{
    /// <summary>Forward tensors: max |a − r| ≤ 1e-4 · max(1, max |r|).</summary>
    public const double ForwardTolerance = 1e-4;

    /// <summary>Gradients: max |a − r| ≤ 1e-3 · max |r| (relative to the gradient's own scale, however small).</summary>
    public const double GradientTolerance = 1e-3;

    public static double MaxAbsError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        return (actual.detach().cpu().to(float64) - expected.detach().cpu().to(float64)).abs().max().item<double>();
    }

    public static double MaxAbs(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        return tensor.detach().cpu().to(float64).abs().max().item<double>();
    }

    public static void AssertForwardClose(Tensor actual, Tensor expected, string name, ITestOutputHelper output) =>
        AssertClose(actual, expected, name, output, ForwardTolerance * Math.Max(1.0, MaxAbs(expected)));

    public static void AssertGradientClose(Tensor actual, Tensor expected, string name, ITestOutputHelper output)
    {
        double scale = MaxAbs(expected);
        Assert.True(scale > 0, $"{name}: the reference gradient is zero, so the comparison would prove nothing");
        AssertClose(actual, expected, name, output, GradientTolerance * scale);
    }

    private static void AssertClose(Tensor actual, Tensor expected, string name, ITestOutputHelper output, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        using (var nan = actual.detach().isnan().any())
            Assert.False(nan.item<bool>(), $"{name} has NaN values");
        double error = MaxAbsError(actual, expected);
        output.WriteLine($"{name}: max abs error {error:E3} (tolerance {tolerance:E3}, max |ref| {MaxAbs(expected):G4})");
        Assert.True(error <= tolerance, $"{name}: max abs error {error:E3} exceeds {tolerance:E3}");
    }
}
