using DiscriminativeTokens.Diffusion.Loading;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>
/// The input embedding of one vocabulary word: how a learned token is initialized (the reference starts "newclas"
/// from the embedding of "a"). The word must encode to exactly one token, or the caller learns which tokens it has.
/// </summary>
public static class TokenEmbeddingLookup
{
    public sealed record WordEmbedding(string Word, int TokenId, string Token, float[] Embedding);

    public static WordEmbedding Lookup(StableDiffusionModel model, string word)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (string.IsNullOrWhiteSpace(word))
            throw RequestRejectedException.Invalid("The word is empty; give one vocabulary word such as \"a\".");
        var ids = model.Tokenizer.EncodeToIds(word);
        if (ids.Count != 1)
        {
            string tokens = string.Join(" ", ids.Select(model.Tokenizer.GetToken));
            throw RequestRejectedException.Invalid(
                $"\"{word}\" is {ids.Count} tokens ({tokens}), not one; pick a word the tokenizer keeps whole, such as \"a\".");
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var row = model.TextEncoder.TokenEmbeddingWeight[ids[0]].to(ScalarType.Float32).cpu().contiguous();
        return new WordEmbedding(word, ids[0], model.Tokenizer.GetToken(ids[0]), row.data<float>().ToArray());
    }
}
