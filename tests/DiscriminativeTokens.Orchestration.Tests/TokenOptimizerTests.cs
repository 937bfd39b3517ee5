using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Tests;

public sealed class TokenOptimizerTests
{
    private static readonly TrainingSettings Settings = new()
    {
        ClassId = 0, ClassPromptName = "cat", LearningRate = 0.05, Beta1 = 0.8, Beta2 = 0.95, Epsilon = 1e-6,
        WeightDecay = 0.1, MaxGradNorm = 1.0,
    };

    private static float[] Vector(int seed, int size, double scale)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, size).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    /// <summary>AdamW (decoupled decay, bias-corrected moments) in double after clipping each gradient to the norm.</summary>
    [Fact]
    public void ThreeStepsMatchAdamWComputedByHand()
    {
        const int size = 32;
        const double tolerance = 1e-5; // float32 optimizer against double arithmetic
        var token = Vector(1, size, 0.5);
        var gradients = new[] { Vector(2, size, 0.01), Vector(3, size, 3.0), Vector(4, size, 0.2) }; // 1 of 3 is clipped
        using var optimizer = new TokenOptimizer(token, Settings);

        double[] p = token.Select(v => (double)v).ToArray(), m = new double[size], v2 = new double[size];
        for (int t = 1; t <= 3; t++)
        {
            double[] g = gradients[t - 1].Select(x => (double)x).ToArray();
            double norm = Math.Sqrt(g.Sum(x => x * x));
            double coefficient = Math.Min(1.0, Settings.MaxGradNorm / (norm + 1e-6));
            g = g.Select(x => x * coefficient).ToArray();
            for (int j = 0; j < size; j++)
            {
                p[j] *= 1 - Settings.LearningRate * Settings.WeightDecay;
                m[j] = Settings.Beta1 * m[j] + (1 - Settings.Beta1) * g[j];
                v2[j] = Settings.Beta2 * v2[j] + (1 - Settings.Beta2) * g[j] * g[j];
                double mHat = m[j] / (1 - Math.Pow(Settings.Beta1, t));
                double denominator = Math.Sqrt(v2[j]) / Math.Sqrt(1 - Math.Pow(Settings.Beta2, t)) + Settings.Epsilon;
                p[j] -= Settings.LearningRate * mHat / denominator;
            }

            optimizer.SetGradient(gradients[t - 1]);
            var clip = optimizer.ClipGradient();
            Assert.Equal(norm, clip.NormBefore, 1e-4);
            Assert.Equal(Math.Min(norm, Settings.MaxGradNorm), clip.NormAfter, 1e-4);
            optimizer.Step();

            var (expAvg, expAvgSq, steps) = optimizer.ExportState();
            Assert.Equal(t, steps);
            AssertClose(m, expAvg, tolerance);
            AssertClose(v2, expAvgSq, tolerance);
            AssertClose(p, optimizer.Token, tolerance);
        }
    }

    [Fact]
    public void ExportImportThenStepEqualsAnUninterruptedStepExactly()
    {
        const int size = 32;
        var token = Vector(5, size, 0.5);
        var gradients = Enumerable.Range(0, 4).Select(i => Vector(10 + i, size, 0.7)).ToArray();
        using var uninterrupted = new TokenOptimizer(token, Settings);
        for (int i = 0; i < 3; i++) StepWith(uninterrupted, gradients[i]);

        var (expAvg, expAvgSq, steps) = uninterrupted.ExportState();
        var checkpoint = new TrainingCheckpoint
        {
            EpochsCompleted = 3, Token = uninterrupted.Token, ExpAvg = expAvg, ExpAvgSq = expAvgSq, OptimizerSteps = steps,
            BestLoss = 1, BestToken = token, BestEpoch = 0, EpochsWithoutImprovement = 0, LastAccuracy = 0, Seed = 35,
        };
        using var resumed = TokenOptimizer.FromCheckpoint(checkpoint, Settings);
        Assert.Equal(3, resumed.Steps);

        StepWith(uninterrupted, gradients[3]);
        StepWith(resumed, gradients[3]);
        Assert.Equal(uninterrupted.Token, resumed.Token);
        var a = uninterrupted.ExportState();
        var b = resumed.ExportState();
        Assert.Equal(a.ExpAvg, b.ExpAvg);
        Assert.Equal(a.ExpAvgSq, b.ExpAvgSq);
        Assert.Equal(a.Steps, b.Steps);
    }

    [Fact]
    public void StateOfTheWrongSizeIsRefused()
    {
        using var optimizer = new TokenOptimizer(new float[8], Settings);
        Assert.Throws<ArgumentException>(() => optimizer.ImportState(new float[7], new float[8], 1));
        Assert.Throws<ArgumentException>(() => optimizer.SetGradient(new float[9]));
        Assert.Throws<InvalidOperationException>(() => optimizer.Step());
    }

    private static void StepWith(TokenOptimizer optimizer, float[] gradient)
    {
        optimizer.SetGradient(gradient);
        optimizer.ClipGradient();
        optimizer.Step();
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                        $"element {i}: expected {expected[i]:G9}, got {actual[i]:G9} (tolerance {tolerance})");
    }
}
