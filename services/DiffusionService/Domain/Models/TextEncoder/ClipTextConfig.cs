using DiscriminativeTokens.Torch;
namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>The fields of a transformers <c>CLIPTextConfig</c> (text_encoder/config.json) that shape the model.</summary>
public sealed record ClipTextConfig(
    int VocabSize,
    int HiddenSize,
    int IntermediateSize,
    int NumHiddenLayers,
    int NumAttentionHeads,
    int MaxPositionEmbeddings,
    double LayerNormEps,
    ClipActivation HiddenAct)
{
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Reads config.json; absent fields take transformers' CLIPTextConfig defaults.</summary>
    public static ClipTextConfig FromFile(string path)
    {
        var json = ConfigJson.Read(path);
        string[] architectures = json.StringArray("architectures", ["CLIPTextModel"]);
        if (architectures.Any(a => a != "CLIPTextModel"))
            throw json.Invalid("architectures", json.Raw("architectures"),
                               "only CLIPTextModel (the Stable Diffusion text encoder) is implemented");
        string modelType = json.String("model_type", "clip_text_model");
        if (modelType != "clip_text_model")
            throw json.Invalid("model_type", json.Raw("model_type"), "expected \"clip_text_model\"");

        string act = json.String("hidden_act", "quick_gelu");
        ClipActivation activation = act switch
        {
            "quick_gelu" => ClipActivation.QuickGelu,
            "gelu" => ClipActivation.Gelu,
            "gelu_new" or "gelu_pytorch_tanh" => ClipActivation.GeluTanh,
            _ => throw json.Invalid("hidden_act", json.Raw("hidden_act"),
                                    "expected \"quick_gelu\", \"gelu\", \"gelu_new\" or \"gelu_pytorch_tanh\""),
        };

        var config = new ClipTextConfig(
            VocabSize: Positive(json, "vocab_size", 49408),
            HiddenSize: Positive(json, "hidden_size", 512),
            IntermediateSize: Positive(json, "intermediate_size", 2048),
            NumHiddenLayers: Positive(json, "num_hidden_layers", 12),
            NumAttentionHeads: Positive(json, "num_attention_heads", 8),
            MaxPositionEmbeddings: Positive(json, "max_position_embeddings", 77),
            LayerNormEps: json.Double("layer_norm_eps", 1e-5),
            HiddenAct: activation);
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw json.Invalid("num_attention_heads", json.Raw("num_attention_heads"),
                               $"hidden_size {config.HiddenSize} is not divisible by it");
        if (!(config.LayerNormEps > 0))
            throw json.Invalid("layer_norm_eps", json.Raw("layer_norm_eps"), "expected a positive number");
        return config;
    }

    private static int Positive(ConfigJson json, string name, int defaultValue)
    {
        int value = json.Int(name, defaultValue);
        return value > 0 ? value : throw json.Invalid(name, json.Raw(name), "expected a positive integer");
    }
}
