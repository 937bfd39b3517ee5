namespace DiscriminativeTokens.Diffusion.Pipelines;

/// <summary>How prompts are padded before the text encoder.</summary>
public enum PromptPaddingMode
{
    /// <summary>Prompt and negative prompt padded to the tokenizer's maximum length (77), as generation always does.</summary>
    MaxLength,

    /// <summary>
    /// The DCT reference's training tokenization: the prompt unpadded (BOS..EOS), the negative prompt padded to the
    /// prompt's length. The UNet then sees a different context than at generation; kept for parity.
    /// </summary>
    ReferenceUnpadded,
}
