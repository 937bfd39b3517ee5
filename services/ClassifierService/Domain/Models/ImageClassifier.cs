using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models;

/// <summary>
/// A classifier network: model-ready pixel values [N, C, H, W] (already resized, cropped and normalized) in, logits
/// [N, num_classes] out. Preprocessing is not part of the network; <see cref="ClassifierPipeline"/> adds it.
/// </summary>
public abstract class ImageClassifier : nn.Module<Tensor, Tensor>
{
    protected ImageClassifier(string name) : base(name)
    {
    }

    /// <summary>Label of each class id, in id order (labels[i] is class i).</summary>
    public abstract IReadOnlyList<string> Labels { get; }

    public int NumClasses => Labels.Count;

    /// <summary>The (height, width) the network requires, or null when it accepts any size.</summary>
    public abstract (int Height, int Width)? RequiredInputSize { get; }

    /// <summary>A one-line description of the architecture, e.g. for service info and logs.</summary>
    public abstract string Architecture { get; }

    /// <summary>The device of the network's weights.</summary>
    public Device WeightsDevice => parameters().First().device;

    /// <summary>Inference mode for pretrained weights: eval, and no parameter takes part in autograd.</summary>
    public void Freeze()
    {
        eval();
        foreach (var parameter in parameters())
            parameter.requires_grad = false;
    }
}
