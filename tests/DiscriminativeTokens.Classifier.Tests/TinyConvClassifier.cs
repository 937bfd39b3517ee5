using DiscriminativeTokens.Classification.Models;
using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>
/// The fixture's TinyConvClassifier (reference/dct.safetensors, weights under <c>classifier.</c>):
/// Conv2d(3, 8, 3, stride 2, padding 1) → mean over H, W → Linear(8, 10). Test-only.
/// </summary>
internal sealed class TinyConvClassifier : ImageClassifier
{
    private const string Prefix = "classifier.";

    private readonly Conv2d conv;
    private readonly Linear fc;

    public TinyConvClassifier() : base(nameof(TinyConvClassifier))
    {
        conv = nn.Conv2d(3, 8, 3, stride: 2, padding: 1);
        fc = nn.Linear(8, 10);
        RegisterComponents();
    }

    /// <summary>Loads the <c>classifier.*</c> tensors of a file that holds many other references too.</summary>
    public static TinyConvClassifier Load(string path)
    {
        var model = new TinyConvClassifier();
        List<string> others;
        using (var file = new SafetensorsFile(path))
            others = file.Entries.Keys.Where(k => !k.StartsWith(Prefix, StringComparison.Ordinal)).ToList();
        StateDictLoader.Load(model, [path], Prefix, ignoredKeys: others);
        model.Freeze();
        return model;
    }

    public override IReadOnlyList<string> Labels { get; } = Enumerable.Range(0, 10).Select(i => $"class {i}").ToArray();

    public override (int Height, int Width)? RequiredInputSize => null;

    public override string Architecture => "TinyConvClassifier (test fixture)";

    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return fc.forward(conv.forward(pixelValues).mean([2, 3])).MoveToOuterDisposeScope();
    }
}
