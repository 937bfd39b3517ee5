using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Training;

/// <summary>
/// Pins the optimizer semantics the orchestrator must reproduce: one torch.optim.AdamW step (lr 0.00125, betas
/// (0.9, 0.999), eps 1e-8, weight decay 0.01; torch 1.13's single-tensor implementation) on the placeholder vector
/// alone. The reference stepped the whole embedding matrix with every other row's gradient zeroed; on the
/// placeholder's row that is the same step. Tolerance: max abs error ≤ 1e-8 — the rows are ≈ 0.01–0.1 in size (float32
/// spacing ≤ 7.5e-9) while weight decay alone moves them by ≈ 1e-7, so a missing decay or bias correction fails.
/// </summary>
public sealed class SingleVectorAdamWTests(DctReference reference, ITestOutputHelper output) : IClassFixture<DctReference>
{
    private const double LearningRate = 0.00125, Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8, WeightDecay = 0.01;

    /// <summary>The first AdamW step from zero moments, in torch's order of float32 operations.</summary>
    private static Tensor FirstStep(Tensor parameter, Tensor gradient)
    {
        var decayed = parameter * (1 - LearningRate * WeightDecay);
        var firstMoment = gradient * (1 - Beta1);
        var secondMoment = gradient * gradient * (1 - Beta2);
        double stepSize = LearningRate / (1 - Beta1);
        double secondCorrectionSqrt = Math.Sqrt(1 - Beta2);
        var denominator = secondMoment.sqrt() / secondCorrectionSqrt + Epsilon;
        return decayed - stepSize * (firstMoment / denominator);
    }

    [Fact]
    public void OneStepOnThePlaceholderVectorMatchesTheReference()
    {
        using var scope = NewDisposeScope();
        var file = reference.File;
        var initial = file.Read("placeholder_embedding_init").reshape(-1);
        var expected = file.Read("adamw/placeholder_row_after").reshape(-1);

        var fromReferenceGradient = FirstStep(initial, file.Read("conv/partial/grad_placeholder_embedding").reshape(-1));
        double error = TokenGradientParityTests.MaxAbsError(fromReferenceGradient, expected);
        output.WriteLine($"adamw/placeholder_row_after from the reference gradient: max abs error {error:E3} " +
                         $"(max |row| {TokenGradientParityTests.MaxAbs(expected):E3})");
        Assert.True(error <= 1e-8, $"AdamW step differs by {error:E3}");

        // Decoupled weight decay is all that moves a row without gradient (run.py's 'a' row): our single-vector
        // optimizer must not touch any other row at all.
        var initializerRow = initial;   // the placeholder started as a copy of the 'a' row
        double decayError = TokenGradientParityTests.MaxAbsError(initializerRow * (1 - LearningRate * WeightDecay),
                                                                 file.Read("adamw/initializer_row_after").reshape(-1));
        Assert.True(decayError <= 1e-8, $"weight decay differs by {decayError:E3}");

        // With our own conv/partial gradient (parity ≈ 1e-6 relative) the step lands on the same row.
        var options = reference.Options("partial", Diffusion.Training.GradientMemoryMode.Recompute);
        using var forward = reference.Sampler.Forward(options, initial);
        using var gradient = reference.Sampler.Backward(forward, file.Read("conv/partial/grad_image"));
        double ownError = TokenGradientParityTests.MaxAbsError(FirstStep(initial, gradient.Gradient), expected);
        output.WriteLine($"adamw/placeholder_row_after from our gradient: max abs error {ownError:E3}");
        Assert.True(ownError <= 1e-8, $"AdamW step from our gradient differs by {ownError:E3}");
    }
}
