using DiscriminativeTokens.Diffusion.Models.Autoencoder;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Training;

/// <summary>
/// Float32 CPU convolution gradients are right inside <see cref="OneDnnConvolutionBackward.ReliableGradients"/>, where
/// oneDNN's are not (see that class). Compared with float64, whose kernels are libtorch's own: max abs error ≤
/// 1e-4·max|float64 gradient| (float32 rounding gives ≈ 1e-6 here; the defect gives errors of order 1 or NaN).
/// </summary>
public sealed class ConvolutionGradientTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    private static Tensor InputGradient(Func<Tensor, Tensor> function, Tensor input, Tensor outputGradient)
    {
        var leaf = input.detach().requires_grad_(true);
        return autograd.grad([function(leaf)], [leaf], [outputGradient])[0];
    }

    private static double RelativeError(Tensor actual, Tensor expected64)
    {
        using var scope = NewDisposeScope();
        if (!actual.isfinite().all().item<bool>()) return double.PositiveInfinity;
        return (actual.to(float64) - expected64).abs().max().item<double>() / expected64.abs().max().item<double>();
    }

    [Fact]
    public void ThreeChannelConvolutionGradientIsRightWithAndWithoutTheScope()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var input = randn([1, 32, 32, 32], generator: generator);   // 32768 values: libtorch picks oneDNN
        var weight = randn([3, 32, 3, 3], generator: generator);
        var outputGradient = randn([1, 3, 32, 32], generator: generator);
        Tensor Convolve(Tensor x) => nn.functional.conv2d(x, x.dtype == float64 ? weight.to(float64) : weight, padding: [1, 1]);

        var exact = InputGradient(Convolve, input.to(float64), outputGradient.to(float64));
        double unguarded = RelativeError(InputGradient(Convolve, input, outputGradient), exact);
        double guarded;
        using (OneDnnConvolutionBackward.ReliableGradients())
            guarded = RelativeError(InputGradient(Convolve, input, outputGradient), exact);
        double afterwards = RelativeError(InputGradient(Convolve, input, outputGradient), exact);

        output.WriteLine($"oneDNN defective: {OneDnnConvolutionBackward.IsDefective}; relative error without guard " +
                         $"{unguarded:E2}, with {guarded:E2}, after the scope {afterwards:E2}");
        Assert.True(guarded <= Tolerance, $"guarded gradient error {guarded:E2}");
        // The test process, like a service at model load, avoids a defective oneDNN process-wide before any work
        // (tests/Shared/ConsistentKernels.cs), so even unguarded gradients are right and the scope changes nothing.
        Assert.True(unguarded <= Tolerance, $"unguarded gradient error {unguarded:E2} (oneDNN defective: {OneDnnConvolutionBackward.IsDefective})");
        Assert.Equal(unguarded, afterwards);
    }

    [Fact]
    public void VaeDecodeGradientMatchesFloat64()
    {
        using var scope = NewDisposeScope();
        string folder = Path.Combine(RepositoryPaths.SdTiny, "vae");
        using var vae = AutoencoderKL.Load(folder, CPU);
        using var vae64 = AutoencoderKL.Load(folder, CPU);
        vae64.to(float64);
        using var generator = new Generator(4);
        var latent = randn([1, 4, 16, 16], generator: generator) * 5;
        var outputGradient = randn([1, 3, 32, 32], generator: generator);

        var exact = InputGradient(vae64.Decode, latent.to(float64), outputGradient.to(float64));
        double error;
        using (OneDnnConvolutionBackward.ReliableGradients())
            error = RelativeError(InputGradient(vae.Decode, latent, outputGradient), exact);
        output.WriteLine($"VAE decode input gradient: relative error {error:E2}");
        Assert.True(error <= Tolerance, $"VAE decode gradient error {error:E2}");
    }
}
