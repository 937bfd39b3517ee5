using DiscriminativeTokens.Diffusion.Models.TextEncoder;
using DiscriminativeTokens.Diffusion.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>
/// Turns a prompt, a negative prompt and an optional learned token into the UNet's cross-attention context. The learned
/// token's vector replaces the placeholder's embedding row through <see cref="TokenEmbeddingOverride"/>, so gradients
/// flow to the vector while the text encoder stays frozen.
/// </summary>
public sealed class PromptEncoder(ClipTokenizer tokenizer, ClipTextModel textEncoder)
{
    public PromptConditioning Encode(string prompt, string negativePrompt, PromptPaddingMode padding, LearnedToken? token = null)
    {
        var warnings = new List<string>();
        ClipTokenizer vocabulary = tokenizer;
        TokenEmbeddingOverride? tokenOverride = null;
        if (token is not null)
        {
            vocabulary = tokenizer.AddedTokens.Any(t => t.Key == token.Placeholder) ? tokenizer : tokenizer.WithAddedToken(token.Placeholder);
            int id = vocabulary.GetTokenId(token.Placeholder);
            var vector = token.Embedding.reshape(-1);
            if (vector.shape[0] != textEncoder.Config.HiddenSize)
                throw new ArgumentException($"The learned token has {vector.shape[0]} values; this text encoder needs " +
                                            $"{textEncoder.Config.HiddenSize}.");
            tokenOverride = new TokenEmbeddingOverride(id, vector);
        }

        TokenizedText conditional = padding == PromptPaddingMode.MaxLength
            ? vocabulary.Encode(prompt, TokenPadding.ModelMaxLength)
            : vocabulary.Encode(prompt, TokenPadding.None);
        if (conditional.WasTruncated)
            warnings.Add($"The prompt is longer than {vocabulary.ModelMaxLength} tokens; the last " +
                         $"{conditional.DroppedTokenCount} token(s) were dropped.");
        if (token is not null && !conditional.InputIds.Contains((int)tokenOverride!.Value.TokenId))
            throw new ArgumentException($"The prompt does not contain the placeholder '{token.Placeholder}' " +
                                        "(or it was truncated away); the learned token would have no effect.");

        TokenizedText unconditional = padding == PromptPaddingMode.MaxLength
            ? vocabulary.Encode(negativePrompt, TokenPadding.ModelMaxLength)
            : vocabulary.Encode(negativePrompt, TokenPadding.ToLength(conditional.Length));
        if (unconditional.WasTruncated)
            warnings.Add($"The negative prompt is longer than {vocabulary.ModelMaxLength} tokens and was truncated.");

        using var scope = NewDisposeScope();
        var device = textEncoder.TokenEmbeddingWeight.device;
        var ids = TokenizedText.StackInputIds([unconditional, conditional], device);
        var embeddings = textEncoder.Forward(ids, tokenOverride);
        return new PromptConditioning(embeddings.MoveToOuterDisposeScope(), warnings);
    }
}
