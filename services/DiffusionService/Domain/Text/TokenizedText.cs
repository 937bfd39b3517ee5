using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// One tokenized prompt: BOS, the tokens, EOS, then padding. The attention mask is 1 on BOS..EOS and 0 on padding
/// (Stable Diffusion does not pass it to the text encoder, but callers may).
/// </summary>
public sealed class TokenizedText
{
    internal TokenizedText(int[] inputIds, int length, int droppedTokenCount)
    {
        InputIds = inputIds;
        Length = length;
        DroppedTokenCount = droppedTokenCount;
        var mask = new int[inputIds.Length];
        Array.Fill(mask, 1, 0, length);
        AttentionMask = mask;
    }

    public IReadOnlyList<int> InputIds { get; }

    public IReadOnlyList<int> AttentionMask { get; }

    /// <summary>Number of real tokens, BOS and EOS included.</summary>
    public int Length { get; }

    /// <summary>How many tokens truncation to model_max_length cut off the end of the prompt.</summary>
    public int DroppedTokenCount { get; }

    public bool WasTruncated => DroppedTokenCount > 0;

    /// <summary>The ids of equally long prompts as an int64 tensor [N, L] on <paramref name="device"/>.</summary>
    public static torch.Tensor StackInputIds(IReadOnlyList<TokenizedText> texts, torch.Device device) =>
        Stack(texts, t => t.InputIds, device);

    /// <summary>The attention masks of equally long prompts as an int64 tensor [N, L] on <paramref name="device"/>.</summary>
    public static torch.Tensor StackAttentionMasks(IReadOnlyList<TokenizedText> texts, torch.Device device) =>
        Stack(texts, t => t.AttentionMask, device);

    private static torch.Tensor Stack(IReadOnlyList<TokenizedText> texts, Func<TokenizedText, IReadOnlyList<int>> values, torch.Device device)
    {
        if (texts.Count == 0)
            throw new ArgumentException("At least one tokenized text is needed.", nameof(texts));
        int length = texts[0].InputIds.Count;
        if (texts.Any(t => t.InputIds.Count != length))
            throw new ArgumentException("Tokenized texts of different lengths cannot be stacked: " +
                                        string.Join(", ", texts.Select(t => t.InputIds.Count)) + ". Pad them to one length.",
                                        nameof(texts));
        var data = new long[texts.Count * length];
        for (int n = 0; n < texts.Count; n++)
        {
            IReadOnlyList<int> row = values(texts[n]);
            for (int i = 0; i < length; i++)
                data[n * length + i] = row[i];
        }
        return torch.tensor(data, [texts.Count, length], torch.int64, device);
    }
}
