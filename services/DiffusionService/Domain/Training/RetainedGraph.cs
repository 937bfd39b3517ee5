using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>
/// <see cref="GradientMemoryMode.KeepGraph"/>: the image still attached to the autograd graph of the differentiated
/// calls, the decode and the text encoder, rooted at a private copy of the token vector. One backward pass frees it.
/// </summary>
internal sealed class RetainedGraph : BackwardState
{
    private Tensor? _image;
    private Tensor? _vector;

    /// <summary>Takes ownership of both tensors.</summary>
    public RetainedGraph(Tensor image, Tensor vectorLeaf)
    {
        _image = image;
        _vector = vectorLeaf;
    }

    public override Tensor Backward(Tensor imageGradient)
    {
        if (_image is null || _vector is null)
            throw new InvalidOperationException("This forward pass kept its autograd graph for one backward pass, which has " +
                                                "already run; use GradientMemoryMode.Recompute to backpropagate repeatedly.");
        using var scope = NewDisposeScope();
        Tensor gradient;
        using (OneDnnConvolutionBackward.ReliableGradients())
            gradient = autograd.grad([_image], [_vector], [imageGradient])[0];
        // The graph is freed by now: release what rooted it.
        Release();
        return gradient.MoveToOuterDisposeScope();
    }

    public override void Dispose() => Release();

    private void Release()
    {
        _image?.Dispose();
        _image = null;
        _vector?.Dispose();
        _vector = null;
    }
}
