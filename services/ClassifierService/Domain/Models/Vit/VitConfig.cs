using DiscriminativeTokens.Torch;
using System.Globalization;
using System.Text.Json;

namespace DiscriminativeTokens.Classification.Models.Vit;

/// <summary>The fields of a transformers <c>ViTConfig</c> (config.json) that shape ViTForImageClassification.</summary>
public sealed record VitConfig(
    int HiddenSize,
    int NumHiddenLayers,
    int NumAttentionHeads,
    int IntermediateSize,
    VitActivation HiddenAct,
    double LayerNormEps,
    int ImageHeight,
    int ImageWidth,
    int PatchHeight,
    int PatchWidth,
    int NumChannels,
    bool QkvBias,
    string ModelType,
    IReadOnlyList<string> Labels)
{
    public int HeadDim => HiddenSize / NumAttentionHeads;

    public int NumPatches => ImageHeight / PatchHeight * (ImageWidth / PatchWidth);

    /// <summary>Reads config.json; absent fields take transformers' ViTConfig defaults.</summary>
    public static VitConfig FromFile(string path)
    {
        var json = ConfigJson.Read(path);
        // Fine-tunes saved from subclasses (e.g. a mean-pooling ViT) carry their own class name; any image
        // classification head is accepted here and the strict key check at load decides.
        string[] architectures = json.StringArray("architectures", ["ViTForImageClassification"]);
        if (!architectures.Any(a => a.EndsWith("ForImageClassification", StringComparison.Ordinal)))
            throw json.Invalid("architectures", json.Raw("architectures"),
                               "expected a ViTForImageClassification checkpoint (an image classifier with a head)");
        // ViT-MAE fine-tunes are sometimes saved with the MAE config type; the encoder fields are the same.
        string modelType = json.String("model_type", "vit");
        if (modelType is not ("vit" or "vit_mae"))
            throw json.Invalid("model_type", json.Raw("model_type"), "expected \"vit\" (or \"vit_mae\")");

        string act = json.String("hidden_act", "gelu");
        VitActivation activation = VitActivationFunctions.Parse(act)
                                   ?? throw json.Invalid("hidden_act", json.Raw("hidden_act"), "expected " + VitActivationFunctions.Supported);

        var (imageHeight, imageWidth) = json.IntPair("image_size", 224);
        var (patchHeight, patchWidth) = json.IntPair("patch_size", 16);
        var config = new VitConfig(
            HiddenSize: Positive(json, "hidden_size", 768),
            NumHiddenLayers: Positive(json, "num_hidden_layers", 12),
            NumAttentionHeads: Positive(json, "num_attention_heads", 12),
            IntermediateSize: Positive(json, "intermediate_size", 3072),
            HiddenAct: activation,
            LayerNormEps: json.Double("layer_norm_eps", 1e-12),
            ImageHeight: imageHeight,
            ImageWidth: imageWidth,
            PatchHeight: patchHeight,
            PatchWidth: patchWidth,
            NumChannels: json.Int("num_channels", 3),
            QkvBias: json.Bool("qkv_bias", true),
            ModelType: modelType,
            Labels: ReadLabels(json));

        if (config.NumChannels != 3)
            throw json.Invalid("num_channels", json.Raw("num_channels"), "only RGB classifiers (3 channels) are served");
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw json.Invalid("num_attention_heads", json.Raw("num_attention_heads"),
                               $"hidden_size {config.HiddenSize} is not divisible by it");
        if (!(config.LayerNormEps > 0))
            throw json.Invalid("layer_norm_eps", json.Raw("layer_norm_eps"), "expected a positive number");
        if (imageHeight <= 0 || imageWidth <= 0)
            throw json.Invalid("image_size", json.Raw("image_size"), "expected positive sizes");
        if (patchHeight <= 0 || patchWidth <= 0 || imageHeight % patchHeight != 0 || imageWidth % patchWidth != 0)
            throw json.Invalid("patch_size", json.Raw("patch_size"),
                               $"expected positive sizes that divide image_size {imageHeight}x{imageWidth}");
        return config;
    }

    /// <summary>
    /// Class labels from <c>id2label</c> (keys "0".."N-1"); without it transformers names num_labels classes LABEL_i.
    /// </summary>
    private static string[] ReadLabels(ConfigJson json)
    {
        if (json.Object("id2label") is not { } map)
        {
            int count = Positive(json, "num_labels", 2);
            return Enumerable.Range(0, count).Select(i => $"LABEL_{i}").ToArray();
        }
        var labels = new SortedDictionary<int, string>();
        foreach (JsonProperty entry in map.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id) ||
                entry.Value.ValueKind != JsonValueKind.String)
                throw json.Invalid("id2label", $"{{\"{entry.Name}\": {entry.Value.GetRawText()}}}",
                                   "expected class ids \"0\"..\"N-1\" mapped to label strings");
            labels[id] = entry.Value.GetString()!;
        }
        if (labels.Count == 0 || labels.Keys.First() != 0 || labels.Keys.Last() != labels.Count - 1)
        {
            string found = labels.Count == 0 ? "{}" : $"{labels.Count} entries with ids {labels.Keys.First()}..{labels.Keys.Last()}";
            throw json.Invalid("id2label", found, "expected the class ids 0..N-1, each once");
        }
        return labels.Values.ToArray();
    }

    private static int Positive(ConfigJson json, string name, int defaultValue)
    {
        int value = json.Int(name, defaultValue);
        return value > 0 ? value : throw json.Invalid(name, json.Raw(name), "expected a positive integer");
    }
}
