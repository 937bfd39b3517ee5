using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.ResNet;

/// <summary>
/// torchvision's ResNet (18/34/50/101/152) with batch norm in eval mode (running statistics). Parameter names are
/// torchvision's: <c>conv1</c>, <c>bn1</c>, <c>layer1</c>..<c>layer4</c> (<c>layer2.0.downsample.0.weight</c>, ...),
/// <c>fc</c>.
/// </summary>
public sealed class ResNetClassifier : ImageClassifier
{
    private const string BatchCounterSuffix = ".num_batches_tracked";

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly Linear fc;
    private readonly IReadOnlyList<string> _labels;

    public ResNetArchitecture Shape { get; }

    public ResNetClassifier(ResNetArchitecture shape, IReadOnlyList<string> labels) : base("ResNet")
    {
        if (labels.Count != shape.NumClasses)
            throw new ArgumentException($"A ResNet with {shape.NumClasses} outputs needs {shape.NumClasses} labels; got {labels.Count}.");
        Shape = shape;
        _labels = labels;
        conv1 = nn.Conv2d(3, shape.StemWidth, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(shape.StemWidth);
        int channels = shape.StemWidth;
        var stages = new Sequential[4];
        for (int stage = 0; stage < 4; stage++)
        {
            int planes = shape.StemWidth << stage;
            var blocks = new List<nn.Module<Tensor, Tensor>>();
            for (int i = 0; i < shape.BlocksPerStage[stage]; i++)
            {
                // torchvision strides the first block of stages 2-4.
                int stride = i == 0 && stage > 0 ? 2 : 1;
                blocks.Add(shape.Block == ResNetBlockKind.Basic
                    ? new BasicBlock(channels, planes, stride)
                    : new Bottleneck(channels, planes, stride));
                channels = planes * shape.Expansion;
            }
            stages[stage] = nn.Sequential(blocks.ToArray());
        }
        (layer1, layer2, layer3, layer4) = (stages[0], stages[1], stages[2], stages[3]);
        fc = nn.Linear(shape.FeatureWidth, shape.NumClasses);
        RegisterComponents();
    }

    /// <summary>
    /// Loads a torchvision ResNet state dict from safetensors, with its labels (see <see cref="ClassLabels"/>), as
    /// float32 on <paramref name="device"/>, frozen. The depth is read from the keys; a given depth must agree.
    /// <c>num_batches_tracked</c> buffers may be present or absent (eval mode never reads them).
    /// </summary>
    public static ResNetClassifier Load(string weightsPath, string labelsPath, Device device, int? depth = null)
    {
        ModelFileGuard.RefusePickle(weightsPath);
        if (!File.Exists(weightsPath))
            throw new FileNotFoundException($"Expected the ResNet weights {weightsPath}, but it does not exist.", weightsPath);
        ResNetArchitecture shape;
        List<string> storedCounters;
        using (var weights = new SafetensorsFile(weightsPath))
        {
            shape = ResNetArchitecture.Infer(weights, depth);
            storedCounters = weights.Entries.Keys.Where(IsBatchCounter).ToList();
        }
        var labels = ClassLabels.Read(labelsPath);
        if (labels.Count != shape.NumClasses)
            throw new InvalidDataException($"{labelsPath} names {labels.Count} classes, but fc.weight in {weightsPath} has " +
                                           $"{shape.NumClasses} outputs.");
        var model = new ResNetClassifier(shape, labels);
        try
        {
            model.to(device);
            var counters = model.state_dict().Keys.Where(IsBatchCounter).ToList();
            StateDictLoader.Load(model, [weightsPath], ignoredKeys: storedCounters, optionalKeys: counters);
            model.Freeze();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static bool IsBatchCounter(string key) =>
        key.EndsWith(BatchCounterSuffix, StringComparison.Ordinal) || key == BatchCounterSuffix[1..];

    public override IReadOnlyList<string> Labels => _labels;

    public override (int Height, int Width)? RequiredInputSize => null;

    public override string Architecture =>
        $"ResNet-{Shape.Depth} (torchvision, {Shape.Block} blocks, stem width {Shape.StemWidth}, {Shape.NumClasses} classes)";

    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(bn1.forward(conv1.forward(pixelValues)));
        x = nn.functional.max_pool2d(x, [3, 3], [2, 2], [1, 1]);
        x = layer4.forward(layer3.forward(layer2.forward(layer1.forward(x))));
        var features = x.mean([2, 3]);
        return fc.forward(features).MoveToOuterDisposeScope();
    }
}
