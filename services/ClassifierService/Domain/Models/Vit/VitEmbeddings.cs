using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>Patch embeddings with the learned CLS token prepended and learned position embeddings added.</summary>
public sealed class VitEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Parameter cls_token;
    private readonly Parameter position_embeddings;
    private readonly VitPatchEmbeddings patch_embeddings;

    public VitEmbeddings(VitConfig config) : base(nameof(VitEmbeddings))
    {
        cls_token = new Parameter(zeros(1, 1, config.HiddenSize));
        position_embeddings = new Parameter(zeros(1, config.NumPatches + 1, config.HiddenSize));
        patch_embeddings = new VitPatchEmbeddings(config);
        RegisterComponents();
    }

    /// <summary>[N, 1 + num_patches, hidden]: CLS first, then the patches in row-major order.</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var patches = patch_embeddings.forward(pixelValues);
        var cls = cls_token.expand(patches.shape[0], -1, -1);
        return cat([cls, patches], 1).Plus(position_embeddings).MoveToOuterDisposeScope();
    }
}
