using DiscriminativeTokens.Diffusion.Models.Unet;
using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

/// <summary>Training backpropagates through the frozen UNet into the text embeddings.</summary>
public class UnetGradientTests
{
    [Fact]
    public void BackwardReachesTextEmbeddingsAndLeavesFrozenParametersWithoutGradients()
    {
        using var scope = NewDisposeScope();
        using var model = UNet2DConditionModel.Load(UnetTestSupport.UnetFolder, CPU);
        using var reference = UnetTestSupport.OpenReference();
        var sample = reference.Read("sample");
        var context = reference.Read("encoder_hidden_states").requires_grad_(true);

        // As the training code does: where this machine's oneDNN computes convolution gradients wrongly (NaN for the
        // 4-channel conv_out at batch 2), differentiate with LibTorch's own kernels.
        using var reliable = OneDnnConvolutionBackward.ReliableGradients();
        var prediction = model.forward(sample, 981L, context);
        Assert.True(prediction.requires_grad);
        prediction.square().mean().backward();

        var grad = context.grad;
        Assert.NotNull(grad);
        Assert.Equal(context.shape, grad.shape);
        Assert.True(grad.abs().max().item<float>() > 0);
        Assert.True(grad.isfinite().all().item<bool>());
        foreach (var (name, parameter) in model.named_parameters())
        {
            Assert.False(parameter.requires_grad, name);
            Assert.Null(parameter.grad);
        }
    }

    /// <summary>Intermediate tensors are disposed inside forward (with and without autograd): only the output stays.</summary>
    [Fact]
    public void ForwardLeavesOnlyItsOutputAlive()
    {
        using var model = UNet2DConditionModel.Load(UnetTestSupport.UnetFolder, CPU);
        using var reference = UnetTestSupport.OpenReference();
        using var sample = reference.Read("sample");
        using var context = reference.Read("encoder_hidden_states");
        using (model.forward(sample, 981L, context)) { } // warm-up: lazily created native state is not a leak

        var statistics = DisposeScopeManager.Statistics;
        long before = statistics.ThreadTotalLiveCount;
        using (no_grad())
        using (model.forward(sample, 500L, context)) { }
        Assert.Equal(before, statistics.ThreadTotalLiveCount);

        using (var leaf = context.clone().requires_grad_(true))
        using (var timesteps = tensor(new long[] { 500, 20 }))
        {
            using (var output = model.forward(sample, timesteps, leaf))
            using (var loss = output.sum())
                loss.backward();
            leaf.grad?.Dispose();
        }
        Assert.Equal(before, statistics.ThreadTotalLiveCount);
    }

    /// <summary>
    /// The gradient is the right one, not just non-zero: in float64 its projection on a random direction matches the
    /// central finite difference of the loss.
    /// </summary>
    [Fact]
    public void TextEmbeddingGradientMatchesFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var model = UNet2DConditionModel.Load(UnetTestSupport.UnetFolder, CPU);
        model.to(ScalarType.Float64);
        using var reference = UnetTestSupport.OpenReference();
        var sample = reference.Read("sample").to(ScalarType.Float64);
        var context = reference.Read("encoder_hidden_states").to(ScalarType.Float64);
        var generator = new Generator(3);
        var direction = randn(context.shape, ScalarType.Float64, generator: generator);
        var weights = randn(2, 4, 16, 16, ScalarType.Float64, generator: generator);
        Tensor Loss(Tensor c) => (model.forward(sample, tensor(new[] { 700.5, 3.0 }), c) * weights).sum();

        var leaf = context.clone().requires_grad_(true);
        Loss(leaf).backward();
        double analytic = (leaf.grad! * direction).sum().item<double>();

        const double step = 1e-4;
        double numeric;
        using (no_grad())
            numeric = (Loss(context + step * direction) - Loss(context - step * direction)).item<double>() / (2 * step);

        Assert.True(Math.Abs(analytic) > 1e-3, $"directional derivative {analytic} is too small to compare");
        Assert.True(Math.Abs(analytic - numeric) <= 1e-6 * Math.Abs(analytic),
                    $"autograd {analytic:R} vs finite difference {numeric:R}");
    }
}
