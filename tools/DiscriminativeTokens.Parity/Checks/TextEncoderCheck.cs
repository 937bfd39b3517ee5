using DiscriminativeTokens.Diffusion.Models.TextEncoder;
using DiscriminativeTokens.Diffusion.Text;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>CLIPTextModel last_hidden_state from reference/text_encoder.safetensors, on the reference's own ids.</summary>
public sealed class TextEncoderCheck : ParityCheck
{
    public override string Component => "text_encoder";

    public override string Description =>
        "last_hidden_state for the reference ids, and with the placeholder's embedding row overridden by the initializer's";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("text_encoder.safetensors");
        ClipTextModel encoder = fixture.Model.TextEncoder;
        yield return Compare(file, "last_hidden_state", Tolerance.Forward, () => encoder.forward(file.Read("input_ids")));

        // Upstream resized the embedding matrix and copied the initializer's row into the placeholder's; the override
        // feeds the same vector without touching the matrix.
        long placeholderId = fixture.Model.Tokenizer.WithAddedToken(ClipTokenizer.ReferencePlaceholder)
                                    .GetTokenId(ClipTokenizer.ReferencePlaceholder);
        yield return Compare(file, "added/last_hidden_state", Tolerance.Forward, () =>
            encoder.Forward(file.Read("added/input_ids"),
                            new TokenEmbeddingOverride(placeholderId, file.Read("added/placeholder_embedding").reshape(-1))));
    }
}
