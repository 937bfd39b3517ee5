using DiscriminativeTokens.Classification.Models;
using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>
/// The fixture's TinyConvClassifier, whose weights reference/dct.safetensors carries under <c>classifier.</c>:
/// Conv2d(3, 8, 3, stride 2, padding 1) → mean over H, W → Linear(8, 10). Only the dct_classifier check uses it.
/// </summary>
internal sealed class TinyConvClassifier : ImageClassifier
{
    private const string Prefix = "classifier.";

    private readonly Conv2d conv;
    private readonly Linear fc;

    private TinyConvClassifier() : base(nameof(TinyConvClassifier))
    {
        conv = nn.Conv2d(3, 8, 3, stride: 2, padding: 1);
        fc = nn.Linear(8, 10);
        RegisterComponents();
    }

    /// <summary>Loads the <c>classifier.*</c> tensors of <paramref name="file"/>, ignoring the other references in it.</summary>
    public static TinyConvClassifier Load(ReferenceFile file, Device device)
    {
        var model = new TinyConvClassifier();
        try
        {
            model.to(device);
            List<string> others;
            using (var weights = new SafetensorsFile(file.Path))
                others = weights.Entries.Keys.Where(k => !k.StartsWith(Prefix, StringComparison.Ordinal)).ToList();
            StateDictLoader.Load(model, [file.Path], Prefix, ignoredKeys: others);
            model.Freeze();
            return model;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            model.Dispose();
            throw new ParityLoadException($"{file.Path}: the TinyConvClassifier weights (classifier.*) do not load: {e.Message}", e);
        }
    }

    public override IReadOnlyList<string> Labels { get; } = Enumerable.Range(0, 10).Select(i => $"class {i}").ToArray();

    public override (int Height, int Width)? RequiredInputSize => null;

    public override string Architecture => "TinyConvClassifier (parity fixture)";

    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return fc.forward(conv.forward(pixelValues).mean([2, 3])).MoveToOuterDisposeScope();
    }
}
