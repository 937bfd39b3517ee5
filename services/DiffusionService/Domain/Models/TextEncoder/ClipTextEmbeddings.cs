using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>
/// Token and learned absolute position embeddings. Positions are 0..L-1, built on the fly: the checkpoint's
/// <c>position_ids</c> buffer (present in some exports, absent in others) holds exactly that range.
/// </summary>
public sealed class ClipTextEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Embedding token_embedding;
    private readonly Embedding position_embedding;
    private readonly ClipTextConfig _config;

    public ClipTextEmbeddings(ClipTextConfig config) : base(nameof(ClipTextEmbeddings))
    {
        token_embedding = nn.Embedding(config.VocabSize, config.HiddenSize);
        position_embedding = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        _config = config;
        RegisterComponents();
    }

    /// <summary>The token embedding matrix [vocab_size, hidden_size].</summary>
    public Tensor TokenEmbeddingWeight => token_embedding.weight!;

    /// <summary>
    /// inputs_embeds [N, L, hidden] for ids [N, L]; rows whose id is the override's take its vector instead, through
    /// an element-wise select so the gradient reaches only that vector.
    /// </summary>
    public Tensor EmbedTokens(Tensor inputIds, TokenEmbeddingOverride? tokenOverride)
    {
        if (inputIds.dim() != 2)
            throw new ArgumentException($"input ids must have shape [batch, length], got [{string.Join(", ", inputIds.shape)}].",
                                        nameof(inputIds));
        if (!torch.is_integral(inputIds.dtype))
            throw new ArgumentException($"input ids must be an integer tensor, got {inputIds.dtype}.", nameof(inputIds));

        using var scope = NewDisposeScope();
        var ids = inputIds.to(ScalarType.Int64, token_embedding.weight!.device);
        if (tokenOverride is not { } replacement)
        {
            RequireInVocabulary(ids, null);
            return token_embedding.forward(ids).MoveToOuterDisposeScope();
        }

        var vector = replacement.Embedding;
        if (vector.numel() != _config.HiddenSize)
            throw new ArgumentException($"The embedding for token {replacement.TokenId} has shape " +
                                        $"[{string.Join(", ", vector.shape)}]; the text encoder needs {_config.HiddenSize} values.",
                                        nameof(tokenOverride));
        if (replacement.TokenId < 0)
            throw new ArgumentException($"Token id {replacement.TokenId} is negative.", nameof(tokenOverride));

        var isReplaced = Scalars.With(replacement.TokenId, id => ids.eq(id));
        // The override id may be past the vocabulary: look up a valid row there and discard it in the select.
        var lookupIds = Scalars.With(0L, zero => ids.masked_fill(isReplaced, zero));
        RequireInVocabulary(lookupIds, replacement.TokenId);
        var embedded = token_embedding.forward(lookupIds);
        var row = vector.reshape(_config.HiddenSize).to(embedded.dtype, embedded.device);
        return torch.where(isReplaced.unsqueeze(-1), row, embedded).MoveToOuterDisposeScope();
    }

    /// <summary>inputs_embeds + position embeddings for positions 0..L-1.</summary>
    public override Tensor forward(Tensor inputsEmbeds)
    {
        if (inputsEmbeds.dim() != 3 || inputsEmbeds.shape[2] != _config.HiddenSize)
            throw new ArgumentException($"inputs_embeds must have shape [batch, length, {_config.HiddenSize}], got " +
                                        $"[{string.Join(", ", inputsEmbeds.shape)}].", nameof(inputsEmbeds));
        long length = inputsEmbeds.shape[1];
        if (length < 1 || length > _config.MaxPositionEmbeddings)
            throw new ArgumentException($"Sequence length {length} is outside 1..{_config.MaxPositionEmbeddings} " +
                                        "(max_position_embeddings).", nameof(inputsEmbeds));
        using var scope = NewDisposeScope();
        var positions = Scalars.Arange(length, ScalarType.Int64, position_embedding.weight!.device).unsqueeze(0);
        return inputsEmbeds.Plus(position_embedding.forward(positions)).MoveToOuterDisposeScope();
    }

    private void RequireInVocabulary(Tensor ids, long? overrideId)
    {
        using var negative = Scalars.With(0L, zero => ids.lt(zero));
        using var pastEnd = Scalars.With(_config.VocabSize, size => ids.ge(size));
        using var outside = negative.logical_or(pastEnd);
        if (!outside.any().item<bool>()) return;
        long bad = ids.masked_select(outside)[0].item<long>();
        string hint = overrideId is { } id
            ? $" Only token {id} (the overridden one) may lie outside it."
            : " A token added to the tokenizer needs its embedding passed as a token override.";
        throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {bad} is outside the text encoder's vocabulary " +
                                                           $"0..{_config.VocabSize - 1}.{hint}");
    }
}
