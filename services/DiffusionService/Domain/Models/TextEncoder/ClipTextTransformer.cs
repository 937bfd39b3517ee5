using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>transformers' <c>CLIPTextTransformer</c> (the <c>text_model</c> of CLIPTextModel): embeddings, encoder,
/// final LayerNorm. Takes inputs_embeds; <see cref="Embeddings"/> turns ids into them.</summary>
public sealed class ClipTextTransformer : nn.Module<Tensor, Tensor>
{
    private readonly ClipTextEmbeddings embeddings;
    private readonly ClipEncoder encoder;
    private readonly LayerNorm final_layer_norm;

    public ClipTextTransformer(ClipTextConfig config) : base(nameof(ClipTextTransformer))
    {
        embeddings = new ClipTextEmbeddings(config);
        encoder = new ClipEncoder(config);
        final_layer_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public ClipTextEmbeddings Embeddings => embeddings;

    /// <summary>last_hidden_state [N, L, hidden] from inputs_embeds [N, L, hidden].</summary>
    public override Tensor forward(Tensor inputsEmbeds)
    {
        using var scope = NewDisposeScope();
        var hidden = encoder.forward(embeddings.forward(inputsEmbeds));
        return final_layer_norm.forward(hidden).MoveToOuterDisposeScope();
    }
}
