using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>
/// Writes torchvision-named ResNet state dicts for tests, written from torchvision's resnet.py structure (not from our
/// model): every convolution holds a constant a/C_in in the centre tap (zero elsewhere), every batch norm has its own
/// constant weight, bias, running mean and running variance, so the network's output has a closed form. With
/// <c>negativeGainEvery</c> some convolutions get a negative gain, so that ReLUs clip.
/// </summary>
internal sealed class TorchvisionResNetStateDict
{
    public const double BatchNormEps = 1e-5;

    private static readonly Dictionary<int, (bool Bottleneck, int[] Blocks)> Depths = new()
    {
        [18] = (false, [2, 2, 2, 2]),
        [34] = (false, [3, 4, 6, 3]),
        [50] = (true, [3, 4, 6, 3]),
        [101] = (true, [3, 4, 23, 3]),
    };

    public sealed record Conv(string Name, long OutChannels, long InChannels, int Kernel, double Gain);
    public sealed record BatchNorm(string Name, long Channels, double Weight, double Bias, double Mean, double Var);

    /// <summary>One residual block: its convolution/batch-norm pairs in order, and the shortcut pair if any.</summary>
    public sealed record Block(List<(Conv Conv, BatchNorm Norm)> Body, (Conv Conv, BatchNorm Norm)? Downsample);

    public int Depth { get; }
    public bool IsBottleneck { get; }
    public (Conv Conv, BatchNorm Norm) Stem { get; }
    public List<Block> Blocks { get; } = [];
    public long FeatureWidth { get; }
    public double[] FcRowValue { get; }
    public double[] FcBias { get; }

    private int _counter;
    private readonly int _negativeGainEvery;

    public TorchvisionResNetStateDict(int depth, int stemWidth, int classes, int negativeGainEvery = 0)
    {
        _negativeGainEvery = negativeGainEvery;
        Depth = depth;
        (IsBottleneck, int[] blocks) = Depths[depth];
        int expansion = IsBottleneck ? 4 : 1;
        Stem = (NewConv("conv1", stemWidth, 3, 7), NewNorm("bn1", stemWidth));
        long inplanes = stemWidth;
        for (int stage = 1; stage <= 4; stage++)
        {
            long planes = (long)stemWidth << (stage - 1);
            for (int i = 0; i < blocks[stage - 1]; i++)
            {
                string prefix = $"layer{stage}.{i}.";
                int stride = stage > 1 && i == 0 ? 2 : 1;
                var body = IsBottleneck
                    ? new List<(Conv, BatchNorm)>
                    {
                        (NewConv(prefix + "conv1", planes, inplanes, 1), NewNorm(prefix + "bn1", planes)),
                        (NewConv(prefix + "conv2", planes, planes, 3), NewNorm(prefix + "bn2", planes)),
                        (NewConv(prefix + "conv3", planes * 4, planes, 1), NewNorm(prefix + "bn3", planes * 4)),
                    }
                    : new List<(Conv, BatchNorm)>
                    {
                        (NewConv(prefix + "conv1", planes, inplanes, 3), NewNorm(prefix + "bn1", planes)),
                        (NewConv(prefix + "conv2", planes, planes, 3), NewNorm(prefix + "bn2", planes)),
                    };
                (Conv, BatchNorm)? downsample = stride != 1 || inplanes != planes * expansion
                    ? (NewConv(prefix + "downsample.0", planes * expansion, inplanes, 1), NewNorm(prefix + "downsample.1", planes * expansion))
                    : null;
                Blocks.Add(new Block(body, downsample));
                inplanes = planes * expansion;
            }
        }
        FeatureWidth = inplanes;
        FcRowValue = Enumerable.Range(0, classes).Select(k => 0.1 * (k + 1) - 0.25).ToArray();
        FcBias = Enumerable.Range(0, classes).Select(k => 0.01 * k - 0.02).ToArray();
    }

    private Conv NewConv(string name, long outChannels, long inChannels, int kernel)
    {
        int k = _counter++;
        double sign = _negativeGainEvery > 0 && k % _negativeGainEvery == 3 ? -1 : 1;
        return new Conv(name, outChannels, inChannels, kernel, sign * (0.6 + 0.05 * (k % 9)));
    }

    private BatchNorm NewNorm(string name, long channels)
    {
        int k = _counter++;
        return new BatchNorm(name, channels, 0.8 + 0.05 * (k % 5), 0.3 + 0.03 * (k % 7), 0.2 + 0.02 * (k % 6), 0.5 + 0.25 * (k % 4));
    }

    /// <summary>Every tensor torchvision's state_dict() holds, with the values described above.</summary>
    public List<KeyValuePair<string, Tensor>> Tensors(bool withBatchCounters)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        void AddPair((Conv Conv, BatchNorm Norm) pair)
        {
            var (conv, norm) = pair;
            var weight = zeros(conv.OutChannels, conv.InChannels, conv.Kernel, conv.Kernel);
            using (var centre = weight[.., .., conv.Kernel / 2, conv.Kernel / 2])
                centre.fill_(conv.Gain / conv.InChannels);
            tensors.Add(new(conv.Name + ".weight", weight));
            tensors.Add(new(norm.Name + ".weight", full(norm.Channels, norm.Weight)));
            tensors.Add(new(norm.Name + ".bias", full(norm.Channels, norm.Bias)));
            tensors.Add(new(norm.Name + ".running_mean", full(norm.Channels, norm.Mean)));
            tensors.Add(new(norm.Name + ".running_var", full(norm.Channels, norm.Var)));
            if (withBatchCounters)
                tensors.Add(new(norm.Name + ".num_batches_tracked", tensor(1234L)));
        }
        AddPair(Stem);
        foreach (var block in Blocks)
        {
            block.Body.ForEach(AddPair);
            if (block.Downsample is { } shortcut) AddPair(shortcut);
        }
        var fcWeight = tensor(FcRowValue.Select(v => (float)(v / FeatureWidth)).ToArray()).unsqueeze(1).expand(-1, FeatureWidth).contiguous();
        tensors.Add(new("fc.weight", fcWeight));
        tensors.Add(new("fc.bias", tensor(FcBias.Select(b => (float)b).ToArray())));
        return tensors;
    }

    public void Write(string path, bool withBatchCounters = true, Func<string, Tensor, Tensor?>? change = null)
    {
        var tensors = Tensors(withBatchCounters);
        try
        {
            var kept = tensors.Select(t => new KeyValuePair<string, Tensor?>(t.Key, change is null ? t.Value : change(t.Key, t.Value)))
                              .Where(t => t.Value is not null)
                              .Select(t => new KeyValuePair<string, Tensor>(t.Key, t.Value!))
                              .ToList();
            SafetensorsWriter.Write(path, kept);
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    /// <summary>
    /// The logits, computed by hand. With centre-tap convolutions each output pixel reads one input pixel, so every
    /// channel of every feature map carries the same value; the final 1×1 map traces back to the max-pool window at the
    /// origin, i.e. the stem outputs at input pixels (0,0), (0,2), (2,0), (2,2). Batch norm: γ(x − μ)/√(σ² + ε) + β.
    /// </summary>
    /// <returns>The logits, and how many block ReLUs clipped a negative value to zero.</returns>
    public (double[] Logits, int ClippedRelus) ExpectedLogits(double stemInputSum)
    {
        int clipped = 0;
        double Relu(double x)
        {
            if (x < 0) clipped++;
            return Math.Max(0, x);
        }
        double Norm(BatchNorm n, double x) => n.Weight * (x - n.Mean) / Math.Sqrt(n.Var + BatchNormEps) + n.Bias;
        // Each convolution sums C_in equal inputs with weight a/C_in; the stem sums the three colours.
        double Apply((Conv Conv, BatchNorm Norm) pair, double x) => Norm(pair.Norm, pair.Conv.Gain * x);
        double v = Math.Max(0, Norm(Stem.Norm, Stem.Conv.Gain * stemInputSum / 3));
        foreach (var block in Blocks)
        {
            double h = v;
            for (int i = 0; i < block.Body.Count; i++)
            {
                h = Apply(block.Body[i], h);
                if (i < block.Body.Count - 1) h = Relu(h);
            }
            double shortcut = block.Downsample is { } ds ? Apply(ds, v) : v;
            v = Relu(h + shortcut);
        }
        return (FcRowValue.Select((w, k) => w * v + FcBias[k]).ToArray(), clipped);
    }
}
