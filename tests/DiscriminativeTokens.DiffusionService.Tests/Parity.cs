using static TorchSharp.torch;

namespace DiscriminativeTokens.DiffusionService.Tests;

internal static class Parity
{
    public static double MaxAbs(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        return tensor.detach().cpu().to(ScalarType.Float64).abs().max().item<double>();
    }

    public static double MaxAbsError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        return (actual.detach().cpu().to(ScalarType.Float64) - expected.detach().cpu().to(ScalarType.Float64)).abs().max().item<double>();
    }

    /// <summary>Max abs error within <paramref name="factor"/>·max(1, max|expected|), shapes equal.</summary>
    public static void AssertClose(Tensor actual, Tensor expected, double factor, string name)
    {
        Assert.Equal(expected.shape, actual.shape);
        double error = MaxAbsError(actual, expected);
        double tolerance = factor * Math.Max(1.0, MaxAbs(expected));
        Assert.True(error <= tolerance, $"{name}: max abs error {error:E3} exceeds {tolerance:E3}");
    }
}
