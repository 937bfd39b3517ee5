namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>How a tokenized prompt is padded: to the tokenizer's model_max_length, not at all, or to a given length.</summary>
public sealed record TokenPadding
{
    private TokenPadding(int? length, bool toModelMaxLength)
    {
        Length = length;
        ToModelMaxLength = toModelMaxLength;
    }

    /// <summary>Pad to model_max_length (77 for CLIP): what Stable Diffusion pipelines feed the text encoder.</summary>
    public static TokenPadding ModelMaxLength { get; } = new(null, true);

    /// <summary>No padding: BOS, the tokens, EOS (the DCT reference's training prompts).</summary>
    public static TokenPadding None { get; } = new(null, false);

    /// <summary>Pad to exactly <paramref name="length"/> tokens (the DCT reference pads "" to the prompt's length).</summary>
    public static TokenPadding ToLength(int length) =>
        length >= 2 ? new TokenPadding(length, false)
                    : throw new ArgumentOutOfRangeException(nameof(length), length, "A padded length must hold at least BOS and EOS (2).");

    /// <summary>The fixed length to pad to, if any.</summary>
    public int? Length { get; }

    public bool ToModelMaxLength { get; }

    public override string ToString() => ToModelMaxLength ? "model_max_length" : Length is int n ? $"length {n}" : "none";
}
