using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Models.Vit;
using DiscriminativeTokens.Classification.Preprocessing;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>
/// The pipeline's contract: input validation, per-image losses with the gradient of their sum, frozen weights, no
/// leaked tensors. Comparisons between two computations of the same quantity: max abs error ≤ 1e-4 · max(1, max |b|)
/// for forward values and ≤ 1e-3 · max |b| for gradients.
/// </summary>
public sealed class ClassifierPipelineTests(ITestOutputHelper output)
{
    private static ClassifierPipeline TinyVit(ClassifierLimits? limits = null) =>
        new(VitForImageClassification.Load(Fixture.VitFolder, CPU), Fixture.TinyReferencePreprocessing, "vit-tiny", limits);

    private static Tensor Images(long count, long height = 48, long width = 64, int seed = 11) =>
        rand([count, 3, height, width], generator: new Generator((ulong)seed));

    [Fact]
    public void InfoDescribesTheClassifier()
    {
        using var pipeline = TinyVit(new ClassifierLimits(MaxBatchSize: 4, MaxImageSide: 512));
        var info = pipeline.Info;
        Assert.Equal("vit-tiny", info.ModelId);
        Assert.Equal(10, info.NumClasses);
        Assert.Equal("LABEL_3", info.Labels[3]);
        Assert.Equal(4, info.MaxBatchSize);
        Assert.Equal((1, 512), (info.MinImageSide, info.MaxImageSide));
        Assert.Equal("resize shorter side to 40 (bicubic, no antialias), center crop 32 (kornia: half-pixel offsets " +
                     "interpolated bilinearly), normalize mean 0.5 std 0.5", info.Preprocessing);
        Assert.StartsWith("ViTForImageClassification (2 layers, hidden 32", info.Architecture);
    }

    [Fact]
    public void InvalidInputsAreRefusedWithClassifierInputException()
    {
        using var pipeline = TinyVit(new ClassifierLimits(MaxBatchSize: 2, MaxImageSide: 100));
        using var scope = NewDisposeScope();
        void Refused(Tensor images, string expected, int[]? targets = null)
        {
            var e = Assert.Throws<ClassifierInputException>(() =>
            {
                using var result = pipeline.LossAndGradient(images, targets ?? Enumerable.Repeat(0, (int)Math.Max(images.shape[0], 0)).ToArray());
            });
            Assert.Contains(expected, e.Message);
        }
        Refused(rand(3, 48, 64), "[N, 3, H, W]");
        Refused(rand(1, 4, 48, 64), "[N, 3, H, W]");
        Refused(ones([1, 3, 48, 64], int32), "floating point");
        Refused(Images(3), "at most 2");
        Refused(zeros(0, 3, 48, 64), "no images", []);
        Refused(rand(1, 3, 48, 101), "outside the accepted sides");
        Refused(Images(1) * 255, "[0, 1]");
        Refused(Images(1) * 2 - 1, "[0, 1]");
        var nan = Images(1);
        nan[0, 1, 5, 7] = float.NaN;
        Refused(nan, "NaN");
        var inf = Images(1);
        inf[0, 2, 0, 0] = float.PositiveInfinity;
        Refused(inf, "infinite");
        Refused(Images(1), "out of range", [10]);
        Refused(Images(1), "out of range", [-1]);
        Refused(Images(2), "one per image", [1]);
        Assert.Throws<ClassifierInputException>(() => pipeline.Classify(rand(1, 3, 48)));

        // Rounding just outside [0, 1] is within the tolerance.
        using var nearlyInRange = (Images(1) * 1.0008 - 0.0004).clamp(-0.0009, 1.0009);
        using var accepted = pipeline.LossAndGradient(nearlyInRange, [3]);
    }

    [Fact]
    public void BatchLossesAreEachImagesOwnAndTheGradientIsThatOfTheirSum()
    {
        using var pipeline = TinyVit();
        using var scope = NewDisposeScope();
        var first = Images(1, seed: 1);
        var second = Images(1, seed: 2);
        using var batch = pipeline.LossAndGradient(cat([first, second], 0), [3, 7]);
        using var alone1 = pipeline.LossAndGradient(first, [3]);
        using var alone2 = pipeline.LossAndGradient(second, [7]);

        Assert.Equal([1, 3, 48, 64], alone1.ImageGradient.shape);
        Assert.Equal([2, 3, 48, 64], batch.ImageGradient.shape);
        Parity.AssertForwardClose(tensor(batch.Losses), tensor(new[] { alone1.Losses[0], alone2.Losses[0] }), "batch losses", output);
        Parity.AssertGradientClose(batch.ImageGradient[0], alone1.ImageGradient[0], "gradient of image 0", output);
        Parity.AssertGradientClose(batch.ImageGradient[1], alone2.ImageGradient[0], "gradient of image 1", output);

        // Loss = −log p(target); the prediction is the argmax of the logits.
        var probabilities = nn.functional.softmax(batch.Logits, 1);
        Assert.Equal(new[] { 3L, 7L }.Select((t, i) => probabilities[i, t].item<float>()), batch.TargetProbabilities,
                     (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(batch.TargetProbabilities.Select(p => -MathF.Log(p)), batch.Losses, (a, b) => Math.Abs(a - b) < 1e-5);
        Assert.Equal(batch.Logits.argmax(1).data<long>().Select(id => (int)id), batch.PredictedClassIds);
        Parity.AssertForwardClose(pipeline.Classify(cat([first, second], 0)), batch.Logits, "Classify vs loss-call logits", output);
    }

    [Fact]
    public void GradientMatchesAFiniteDifference()
    {
        // An independent check of the whole path (resize, crop, network, cross-entropy). The network runs in float32 and
        // its loss moves only ~1e-5 per unit step, so the step is a whole unit-norm direction (≈0.015 per pixel).
        using var pipeline = TinyVit();
        using var scope = NewDisposeScope();
        var image = Images(1, 37, 45, seed: 4).mul(0.8).add(0.1);
        using var result = pipeline.LossAndGradient(image, [5]);
        var direction = randn(image.shape, generator: new Generator(9));
        direction /= direction.norm();
        const double step = 1.0;
        double Loss(Tensor x)
        {
            using var r = pipeline.LossAndGradient(x, [5]);
            return r.Losses[0];
        }
        double numeric = (Loss(image + step * direction) - Loss(image - step * direction)) / (2 * step);
        double analytic = (result.ImageGradient * direction).sum().item<float>();
        output.WriteLine($"directional derivative: analytic {analytic:E4}, central difference {numeric:E4}");
        Assert.True(Math.Abs(analytic - numeric) <= 2e-2 * Math.Abs(analytic) + 1e-6,
                    $"analytic {analytic:E4} vs central difference {numeric:E4}");
    }

    [Fact]
    public void OnlyTheImageGetsAGradientAndTheCallersTensorIsUntouched()
    {
        using var pipeline = TinyVit();
        using var image = Images(1);
        using var copy = image.clone();
        using (var result = pipeline.LossAndGradient(image, [1]))
            Assert.True(result.ImageGradient.abs().sum().item<float>() > 0);
        Assert.False(image.requires_grad);
        Assert.Equal(0.0, Parity.MaxAbsError(image, copy));
        Assert.All(pipeline.Model.parameters(), p =>
        {
            Assert.False(p.requires_grad);
            Assert.True(p.grad is null || p.grad.IsInvalid, "a frozen parameter received a gradient");
        });
        Assert.False(pipeline.Model.training);
    }

    [Fact]
    public void RepeatedCallsLeaveNoTensorsBehind()
    {
        using var pipeline = TinyVit();
        using var image = Images(2);
        void Call()
        {
            using var result = pipeline.LossAndGradient(image, [1, 2]);
            using var logits = pipeline.Classify(image);
            using var pre = pipeline.Preprocess(image);
        }
        Call();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++) Call();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void AnyImageSizeAndPrecisionIsAccepted()
    {
        using var pipeline = TinyVit();
        using var scope = NewDisposeScope();
        foreach (var (height, width) in new[] { (32, 32), (70, 50), (17, 90) })
        {
            var image = Images(1, height, width).to(float64);
            using var result = pipeline.LossAndGradient(image, [0]);
            Assert.Equal(image.shape, result.ImageGradient.shape);
            Assert.Equal(ScalarType.Float32, result.ImageGradient.dtype);
        }
    }

    [Fact]
    public void PreprocessingThatCannotFeedTheModelIsRefused()
    {
        // A ViT needs exactly its image_size: a fixed 24x24 crop is a configuration error …
        var model = VitForImageClassification.Load(Fixture.VitFolder, CPU);
        var crop24 = Fixture.TinyReferencePreprocessing with { Crop = CenterCropStep.Create(24, 24, CenterCropStyle.Kornia) };
        var e = Assert.Throws<ArgumentException>(() => new ClassifierPipeline(model, crop24, "vit-tiny"));
        Assert.Contains("needs exactly 32x32", e.Message);

        // … and without a resize or crop only 32x32 images can be served.
        using var raw = new ClassifierPipeline(model, new ClassifierPreprocessing(null, null, NormalizeStep.Half), "vit-tiny");
        using var wrong = Images(1, 40, 40);
        var refused = Assert.Throws<ClassifierInputException>(() => raw.Classify(wrong));
        Assert.Contains("needs 32x32", refused.Message);
        using var right = Images(1, 32, 32);
        using var logits = raw.Classify(right);
        Assert.Equal([1, 10], logits.shape);
    }

    [Fact]
    public void TopClassesAreSortedProbabilitiesWithLabels()
    {
        using var pipeline = TinyVit();
        using var image = Images(2);
        using var logits = pipeline.Classify(image);
        var top = pipeline.TopClasses(logits, 3);
        Assert.Equal(2, top.Count);
        foreach (var (row, n) in top.Select((row, n) => (row, n)))
        {
            Assert.Equal(3, row.Count);
            Assert.True(row[0].Probability >= row[1].Probability && row[1].Probability >= row[2].Probability);
            Assert.Equal($"LABEL_{row[0].ClassId}", row[0].Label);
            Assert.Equal(logits[n, row[0].ClassId].item<float>(), row[0].Logit);
            Assert.Equal(logits[n].argmax().item<long>(), row[0].ClassId);
        }
        Assert.Equal(10, pipeline.TopClasses(logits, 50)[0].Count);
    }
}
