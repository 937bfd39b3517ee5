using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Tokens;

/// <summary>Which classifier guided the training.</summary>
public sealed record ClassifierIdentity(string EndpointName, string Address, string ModelId);

/// <summary>
/// Which diffusion model the token belongs to. A token only means something to the text encoder it was trained
/// against, so loading checks the hidden size and the hash of the text encoder's weights.
/// </summary>
public sealed record ModelIdentity(string ModelId, string TextEncoderSha256, int TextHiddenSize);

/// <summary>
/// token.json, written next to learned_embeds.safetensors (DESIGN.md §2): what the token is for, what produced it and
/// how well it did. <see cref="FormatVersion"/> changes when a field changes meaning.
/// </summary>
public sealed record TokenSidecar
{
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required string Placeholder { get; init; }
    public required int ClassId { get; init; }
    public required string ClassLabel { get; init; }
    /// <summary>Words used for the class in the prompts.</summary>
    public required string ClassPromptName { get; init; }
    public required ClassifierIdentity Classifier { get; init; }
    public required ModelIdentity Model { get; init; }
    public required IReadOnlyList<string> TrainingPrompts { get; init; }
    /// <summary>Every setting of the run, defaults included.</summary>
    public required TrainingSettings Hyperparameters { get; init; }
    public required int Epochs { get; init; }
    /// <summary>"target_accuracy", "patience" or "max_epochs".</summary>
    public required string StopReason { get; init; }
    /// <summary>0-based epoch whose embedding was kept (the lowest epoch loss).</summary>
    public required int BestEpoch { get; init; }
    public required double BestLoss { get; init; }
    public required double FinalAccuracy { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}
