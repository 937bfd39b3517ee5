using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>
/// transformers' <c>ViTForImageClassification</c> (any size), with the head reading either the normed CLS token or the
/// normed mean of the patch tokens. Parameter names are those transformers saves (<c>vit.embeddings.cls_token</c>,
/// <c>vit.encoder.layer.0.attention.attention.query.weight</c>, <c>vit.layernorm.weight</c>, <c>classifier.weight</c>).
/// </summary>
public sealed class VitForImageClassification : ImageClassifier
{
    private readonly VitModel vit;
    private readonly LayerNorm? fc_norm;
    private readonly Linear classifier;

    public VitConfig Config { get; }
    public VitPooling Pooling { get; }
    public VitFinalNorm FinalNorm { get; }

    public VitForImageClassification(VitConfig config, VitPooling pooling, VitFinalNorm finalNorm = VitFinalNorm.VitLayerNorm)
        : base("ViTForImageClassification")
    {
        Config = config;
        Pooling = pooling;
        FinalNorm = finalNorm;
        vit = new VitModel(config, finalNorm);
        if (finalNorm == VitFinalNorm.FcNorm)
            fc_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        classifier = nn.Linear(config.HiddenSize, config.Labels.Count);
        RegisterComponents();
    }

    /// <summary>
    /// Builds the model from <c>{folder}/config.json</c> and loads <c>model.safetensors</c> (or its shards) strictly, as
    /// float32 on <paramref name="device"/>, frozen. Without an explicit <paramref name="pooling"/>, a checkpoint that
    /// names its final norm <c>fc_norm</c>, or whose model_type is <c>vit_mae</c>, is mean-pooled; any other reads the
    /// CLS token. Checkpoints that keep the name <c>vit.layernorm</c> for a mean-pooled head (e.g. the paper's CUB and
    /// iNaturalist fine-tunes) need <see cref="VitPooling.MeanPatchTokens"/> given explicitly.
    /// </summary>
    public static VitForImageClassification Load(string folder, Device device, VitPooling? pooling = null)
    {
        var config = VitConfig.FromFile(Path.Combine(folder, "config.json"));
        var files = PretrainedWeights.Resolve(folder);
        var keys = PretrainedWeights.Keys(files);
        VitFinalNorm finalNorm =
            keys.Contains("vit.layernorm.weight") ? VitFinalNorm.VitLayerNorm
            : keys.Contains("vit.fc_norm.weight") ? VitFinalNorm.VitFcNorm
            : keys.Contains("fc_norm.weight") ? VitFinalNorm.FcNorm
            : VitFinalNorm.VitLayerNorm;    // absent: the strict load below names the missing key
        VitPooling chosen = pooling ?? (finalNorm != VitFinalNorm.VitLayerNorm || config.ModelType == "vit_mae"
            ? VitPooling.MeanPatchTokens
            : VitPooling.ClsToken);

        var model = new VitForImageClassification(config, chosen, finalNorm);
        try
        {
            model.to(device);
            StateDictLoader.Load(model, files);
            model.Freeze();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public override IReadOnlyList<string> Labels => Config.Labels;

    public override (int Height, int Width)? RequiredInputSize => (Config.ImageHeight, Config.ImageWidth);

    public override string Architecture =>
        $"ViTForImageClassification ({Config.NumHiddenLayers} layers, hidden {Config.HiddenSize}, " +
        $"{Config.NumAttentionHeads} heads, patch {Config.PatchHeight}x{Config.PatchWidth}, " +
        $"input {Config.ImageHeight}x{Config.ImageWidth}, " +
        (Pooling == VitPooling.ClsToken ? "CLS-token" : "mean-patch-token") + " pooling)";

    /// <summary>The last encoder layer's tokens [N, 1 + num_patches, hidden] (CLS first), before the final norm.</summary>
    public Tensor FinalLayerTokens(Tensor pixelValues) => vit.forward(pixelValues);

    /// <summary>Logits [N, num_labels] for pixel values [N, 3, image_size, image_size].</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var tokens = vit.forward(pixelValues);
        // The layer norm acts on each token alone, so norming only the pooled vector equals transformers' order for
        // the CLS token (norm all, then take token 0); the mean-pooled head norms the mean by definition.
        var pooled = Pooling == VitPooling.ClsToken
            ? tokens.select(1, 0)
            : tokens.narrow(1, 1, tokens.shape[1] - 1).mean([1]);
        var norm = fc_norm ?? vit.FinalNorm ?? throw new InvalidOperationException("The ViT has no final layer norm.");
        return classifier.forward(norm.forward(pooled)).MoveToOuterDisposeScope();
    }
}
