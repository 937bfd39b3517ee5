using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Models.ResNet;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>
/// torchvision ResNets without an upstream reference: hand-built state dicts named as torchvision names them, and
/// logits computed in closed form. Tolerance for the logits: max abs error ≤ 1e-4 · max(1, max |expected|).
/// </summary>
public sealed class ResNetTests(ITestOutputHelper output) : IDisposable
{
    private const int StemWidth = 4;   // a tiny network; torchvision's is 64, the names and structure are the same
    private const int Classes = 5;
    private readonly string _folder = Directory.CreateTempSubdirectory("dct-resnet-").FullName;

    private string LabelsPath(int count = Classes)
    {
        string path = Path.Combine(_folder, $"labels{count}.txt");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => $"class {i}"));
        return path;
    }

    [Theory]
    [InlineData(18)]
    [InlineData(34)]
    [InlineData(50)]
    [InlineData(101)]
    public void StateDictNamesAreTorchvisionsAndTheDepthIsReadFromThem(int depth)
    {
        var reference = new TorchvisionResNetStateDict(depth, StemWidth, Classes);
        string path = Path.Combine(_folder, $"resnet{depth}.safetensors");
        reference.Write(path);

        using var model = ResNetClassifier.Load(path, LabelsPath(), CPU);
        Assert.Equal(depth, model.Shape.Depth);
        var expectedNames = reference.Tensors(withBatchCounters: true).Select(t => t.Key).ToHashSet();
        var names = model.state_dict().Keys.ToHashSet();
        Assert.True(expectedNames.SetEquals(names),
                    $"only torchvision: {string.Join(", ", expectedNames.Except(names).Take(5))}; " +
                    $"only ours: {string.Join(", ", names.Except(expectedNames).Take(5))}");
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(model.training);
    }

    [Theory]
    [InlineData(18, 0, true)]
    [InlineData(50, 0, false)]
    [InlineData(18, 7, true)]     // the block-output ReLU clips
    [InlineData(18, 9, false)]    // the ReLU inside the block clips
    [InlineData(50, 7, true)]     // both clip
    public void LogitsMatchTheClosedFormWithEvalModeBatchNorm(int depth, int negativeGainEvery, bool withBatchCounters)
    {
        var reference = new TorchvisionResNetStateDict(depth, StemWidth, Classes, negativeGainEvery);
        string path = Path.Combine(_folder, $"resnet{depth}.safetensors");
        reference.Write(path, withBatchCounters);
        using var model = ResNetClassifier.Load(path, LabelsPath(), CPU, depth);

        // 32×32 → stem 16 → max-pool 8 → stages 8, 4, 2, 1.
        using var scope = NewDisposeScope();
        var image = rand([2, 3, 32, 32], generator: new Generator(7));
        using var _ = no_grad();
        var logits = model.forward(image);
        for (int n = 0; n < 2; n++)
        {
            var colourSums = image[n].sum(dim: 0);
            double stemInput = new[] { (0, 0), (0, 2), (2, 0), (2, 2) }.Max(p => colourSums[p.Item1, p.Item2].item<float>());
            var (expected, clipped) = reference.ExpectedLogits(stemInput);
            // Without negative gains no ReLU clips and the logits depend strongly on the sampled pixels; with them,
            // some ReLUs must clip, or the case would not test them.
            Assert.Equal(negativeGainEvery > 0, clipped > 0);
            Parity.AssertForwardClose(logits[n], tensor(expected), $"resnet{depth} (negative gains every {negativeGainEvery}) logits[{n}]", output);
        }
        // Running statistics, not batch statistics: one image alone gives the same logits.
        Parity.AssertForwardClose(model.forward(image[..1]), logits[..1], $"resnet{depth} logits of one image", output);
    }

    [Fact]
    public void MissingUnexpectedAndMisshapenKeysAreNamed()
    {
        var reference = new TorchvisionResNetStateDict(18, StemWidth, Classes);
        string missing = Path.Combine(_folder, "missing.safetensors");
        reference.Write(missing, change: (name, t) => name == "layer2.0.downsample.1.running_var" ? null : t);
        var e = Assert.Throws<InvalidDataException>(() => ResNetClassifier.Load(missing, LabelsPath(), CPU));
        Assert.Contains("layer2.0.downsample.1.running_var", e.Message);

        string misshapen = Path.Combine(_folder, "misshapen.safetensors");
        reference.Write(misshapen, change: (name, t) => name == "layer3.1.conv2.weight" ? zeros(16, 16, 1, 1) : t);
        e = Assert.Throws<InvalidDataException>(() => ResNetClassifier.Load(misshapen, LabelsPath(), CPU));
        Assert.Contains("layer3.1.conv2.weight", e.Message);

        string extra = Path.Combine(_folder, "extra.safetensors");
        var tensors = reference.Tensors(withBatchCounters: true);
        tensors.Add(new("layer1.0.se.fc.weight", zeros(2, 2)));
        DiscriminativeTokens.Torch.SafetensorsWriter.Write(extra, tensors);
        e = Assert.Throws<InvalidDataException>(() => ResNetClassifier.Load(extra, LabelsPath(), CPU));
        Assert.Contains("layer1.0.se.fc.weight", e.Message);
    }

    [Fact]
    public void DepthAndLabelMismatchesAndPicklesAreRefused()
    {
        var reference = new TorchvisionResNetStateDict(34, StemWidth, Classes);
        string path = Path.Combine(_folder, "resnet34.safetensors");
        reference.Write(path);
        var e = Assert.Throws<InvalidDataException>(() => ResNetClassifier.Load(path, LabelsPath(), CPU, depth: 18));
        Assert.Contains("ResNet-18 was requested", e.Message);
        Assert.Contains("ResNet-34", e.Message);

        e = Assert.Throws<InvalidDataException>(() => ResNetClassifier.Load(path, LabelsPath(Classes + 1), CPU));
        Assert.Contains("6 classes", e.Message);

        string pickle = Path.Combine(_folder, "resnet34.pth");
        File.WriteAllBytes(pickle, [0x80, 0x02]);
        e = Assert.Throws<InvalidDataException>(() => ResNetClassifier.Load(pickle, LabelsPath(), CPU));
        Assert.Contains("pickle", e.Message);
    }

    [Fact]
    public void DefaultPipelineUsesTorchvisionPreprocessing()
    {
        var reference = new TorchvisionResNetStateDict(18, StemWidth, Classes);
        string path = Path.Combine(_folder, "resnet18.safetensors");
        reference.Write(path);
        using var pipeline = ClassifierLoader.LoadResNet(path, LabelsPath(), CPU);
        Assert.Equal("resnet18", pipeline.Info.ModelId);
        Assert.Equal(Classes, pipeline.Info.NumClasses);
        Assert.Equal("resize shorter side to 256 (bilinear, antialias), center crop 224 (torchvision: offsets rounded " +
                     "half to even), normalize mean [0.485, 0.456, 0.406] std [0.229, 0.224, 0.225]", pipeline.Info.Preprocessing);
        using var image = full(1, 3, 40, 60, 0.5f);
        using var result = pipeline.LossAndGradient(image, [2]);
        Assert.Equal(image.shape, result.ImageGradient.shape);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }
}
