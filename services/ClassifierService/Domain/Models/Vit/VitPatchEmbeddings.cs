using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>Cuts the image into non-overlapping patches and projects each to hidden_size (one strided convolution).</summary>
public sealed class VitPatchEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d projection;
    private readonly VitConfig _config;

    public VitPatchEmbeddings(VitConfig config) : base(nameof(VitPatchEmbeddings))
    {
        _config = config;
        projection = nn.Conv2d(config.NumChannels, config.HiddenSize, (config.PatchHeight, config.PatchWidth),
                               stride: (config.PatchHeight, config.PatchWidth));
        RegisterComponents();
    }

    /// <summary>[N, num_patches, hidden] for pixel values [N, C, image_size, image_size].</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        // The learned position embeddings cover exactly image_size; other sizes would need interpolating them.
        if (pixelValues.ndim != 4 || pixelValues.shape[1] != _config.NumChannels ||
            pixelValues.shape[2] != _config.ImageHeight || pixelValues.shape[3] != _config.ImageWidth)
            throw new ArgumentException(
                $"This ViT takes pixel values [N, {_config.NumChannels}, {_config.ImageHeight}, {_config.ImageWidth}] " +
                $"(its image_size); got [{string.Join(", ", pixelValues.shape)}]. Resize and crop to the model's size first.");
        using var scope = NewDisposeScope();
        return projection.forward(pixelValues).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }
}
