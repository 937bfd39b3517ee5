using DiscriminativeTokens.Diffusion.Text;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>CLIPTokenizer ids (transformers 4.26 + ftfy) from reference/tokenizer.safetensors, exactly.</summary>
public sealed class TokenizerCheck : ParityCheck
{
    public override string Component => "tokenizer";

    public override string Description =>
        "token ids, attention masks and lengths of the reference prompts, with and without the added placeholder, " +
        "and the DCT training tokenization (exact)";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("tokenizer.safetensors");
        string[] prompts = file.MetadataJson<string[]>("prompts");
        ClipTokenizer tokenizer = fixture.Model.Tokenizer;
        ClipTokenizer added = tokenizer.WithAddedToken(ClipTokenizer.ReferencePlaceholder);

        TokenizedText[] plain = prompts.Select(p => tokenizer.Encode(p)).ToArray();
        yield return Compare(file, "input_ids", Tolerance.Exact, () => Int64Rows(plain.Select(t => t.InputIds).ToArray()));
        yield return Compare(file, "attention_mask", Tolerance.Exact, () => Int64Rows(plain.Select(t => t.AttentionMask).ToArray()));
        yield return Compare(file, "lengths", Tolerance.Exact, () => tensor(plain.Select(t => (long)t.Length).ToArray()));

        TokenizedText[] withPlaceholder = prompts.Select(p => added.Encode(p)).ToArray();
        yield return Compare(file, "added/input_ids", Tolerance.Exact, () => Int64Rows(withPlaceholder.Select(t => t.InputIds).ToArray()));
        yield return Compare(file, "added/lengths", Tolerance.Exact, () => tensor(withPlaceholder.Select(t => (long)t.Length).ToArray()));
        yield return Compare(file, "added/placeholder_token_id", Tolerance.Exact,
                             () => tensor(new long[] { added.GetTokenId(ClipTokenizer.ReferencePlaceholder) }));
        yield return Compare(file, "added/initializer_token_id", Tolerance.Exact,
                             () => tensor(added.EncodeToIds("a").Select(id => (long)id).ToArray()));

        // run.py: the prompt unpadded, the empty unconditional prompt padded to the prompt's length.
        string[] dctPrompts = file.MetadataJson<string[]>("dct_prompts");
        for (int k = 0; k < dctPrompts.Length; k++)
        {
            TokenizedText conditional = added.Encode(dctPrompts[k], TokenPadding.None);
            TokenizedText unconditional = added.Encode("", TokenPadding.ToLength(conditional.Length));
            yield return Compare(file, $"dct/prompt{k}_input_ids", Tolerance.Exact, () => Int64Rows([conditional.InputIds]));
            yield return Compare(file, $"dct/prompt{k}_uncond_input_ids", Tolerance.Exact, () => Int64Rows([unconditional.InputIds]));
        }
    }
}
