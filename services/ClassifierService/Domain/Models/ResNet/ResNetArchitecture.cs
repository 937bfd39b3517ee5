using System.Text.RegularExpressions;
using DiscriminativeTokens.Torch;

namespace DiscriminativeTokens.Classification.Models.ResNet;

/// <summary>
/// The shape of a torchvision ResNet: block kind and blocks per stage (given by the depth), the stem width (64 in
/// torchvision; smaller values give tiny networks for tests) and the number of classes.
/// </summary>
public sealed partial record ResNetArchitecture(int Depth, ResNetBlockKind Block, int[] BlocksPerStage, int StemWidth, int NumClasses)
{
    private static readonly (int Depth, ResNetBlockKind Block, int[] Blocks)[] KnownDepths =
    [
        (18, ResNetBlockKind.Basic, [2, 2, 2, 2]),
        (34, ResNetBlockKind.Basic, [3, 4, 6, 3]),
        (50, ResNetBlockKind.Bottleneck, [3, 4, 6, 3]),
        (101, ResNetBlockKind.Bottleneck, [3, 4, 23, 3]),
        (152, ResNetBlockKind.Bottleneck, [3, 8, 36, 3]),
    ];

    public static IReadOnlyList<int> SupportedDepths { get; } = KnownDepths.Select(d => d.Depth).ToArray();

    public int Expansion => Block == ResNetBlockKind.Basic ? 1 : 4;

    /// <summary>Output channels of the last stage, the width fc reads.</summary>
    public int FeatureWidth => StemWidth * 8 * Expansion;

    public static ResNetArchitecture ForDepth(int depth, int numClasses, int stemWidth = 64)
    {
        foreach (var known in KnownDepths)
            if (known.Depth == depth)
                return new ResNetArchitecture(depth, known.Block, known.Blocks, stemWidth, numClasses);
        throw new ArgumentException($"ResNet depth {depth} is not supported; use one of {string.Join(", ", SupportedDepths)}.");
    }

    /// <summary>
    /// Reads the architecture off a torchvision state dict: the blocks per stage from the <c>layer{s}.{i}.</c> keys,
    /// the block kind from <c>conv3</c>, the stem width from <c>conv1.weight</c> and the classes from <c>fc.weight</c>.
    /// A given <paramref name="depth"/> must agree with the keys.
    /// </summary>
    public static ResNetArchitecture Infer(SafetensorsFile weights, int? depth = null)
    {
        int stemWidth = (int)Require(weights, "conv1.weight", 4)[0];
        int numClasses = (int)Require(weights, "fc.weight", 2)[0];
        var blocks = new int[4];
        foreach (string key in weights.Entries.Keys)
        {
            var match = BlockKey().Match(key);
            if (!match.Success) continue;
            int stage = int.Parse(match.Groups[1].ValueSpan) - 1;
            if (stage is < 0 or > 3) continue;
            blocks[stage] = Math.Max(blocks[stage], int.Parse(match.Groups[2].ValueSpan) + 1);
        }
        var block = weights.Contains("layer1.0.conv3.weight") ? ResNetBlockKind.Bottleneck : ResNetBlockKind.Basic;
        var found = KnownDepths.Where(k => k.Block == block && k.Blocks.SequenceEqual(blocks)).Select(k => k.Depth).ToList();
        string description = $"{block} blocks [{string.Join(", ", blocks)}] per stage";
        if (found.Count == 0)
            throw new InvalidDataException($"{weights.Path} does not hold a torchvision ResNet of depth " +
                                           $"{string.Join("/", SupportedDepths)}: its keys give {description}.");
        if (depth is { } given && given != found[0])
            throw new InvalidDataException($"ResNet-{given} was requested, but {weights.Path} holds a ResNet-{found[0]} ({description}).");
        var conv2 = weights.Contains("layer1.0.conv2.weight") ? weights.Entry("layer1.0.conv2.weight").Shape : null;
        if (conv2 is { Length: 4 } && conv2[1] != conv2[0])
            throw new InvalidDataException($"{weights.Path}: layer1.0.conv2.weight has shape [{string.Join(", ", conv2)}], a grouped " +
                                           "convolution (ResNeXt), which is not supported.");
        return ForDepth(found[0], numClasses, stemWidth);
    }

    private static long[] Require(SafetensorsFile weights, string key, int rank)
    {
        if (!weights.Contains(key))
            throw new InvalidDataException($"{weights.Path} has no '{key}': not a torchvision ResNet state dict.");
        long[] shape = weights.Entry(key).Shape;
        return shape.Length == rank && shape[0] > 0
            ? shape
            : throw new InvalidDataException($"{weights.Path}: '{key}' has shape [{string.Join(", ", shape)}], not that of a torchvision ResNet.");
    }

    [GeneratedRegex(@"^layer(\d+)\.(\d+)\.")]
    private static partial Regex BlockKey();
}
