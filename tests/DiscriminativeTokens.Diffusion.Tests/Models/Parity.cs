using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

/// <summary>Forward-tensor comparison against the upstream references.</summary>
internal static class Parity
{
    /// <summary>Relative factor of the tolerance: max |a - r| &lt;= 1e-4 · max(1, max |r|).</summary>
    public const double RelativeTolerance = 1e-4;

    public static double MaxAbsError(Tensor actual, Tensor expected)
    {
        using var difference = (actual.detach().cpu().to(float64) - expected.detach().cpu().to(float64)).abs();
        return difference.max().item<double>();
    }

    public static void AssertClose(Tensor actual, Tensor expected, string name, ITestOutputHelper output)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        Assert.False(actual.isnan().any().item<bool>(), $"{name} has NaN values");
        double scale = Math.Max(1.0, expected.abs().max().item<float>());
        double error = MaxAbsError(actual, expected);
        double tolerance = RelativeTolerance * scale;
        output.WriteLine($"{name}: max abs error {error:E3} (tolerance {tolerance:E3}, max |ref| {scale:G4})");
        Assert.True(error <= tolerance, $"{name}: max abs error {error:E3} exceeds {tolerance:E3}");
    }
}
