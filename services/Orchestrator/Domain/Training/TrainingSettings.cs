using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// Everything that decides a training run. Defaults are the reference method's (DESIGN.md §1), with its flaws fixed:
/// prompts padded to the maximum length, one clip of the accumulated gradient, AdamW on the one token vector.
/// </summary>
public sealed record TrainingSettings
{
    public static readonly IReadOnlyList<string> ReferenceTemplates =
    [
        "A photo of {token} {class}",
        "a high resolution realistic image of {token} {class}",
        "A close-up photo of a {token} {class}",
    ];

    /// <summary>0-based class id of the guiding classifier.</summary>
    public required int ClassId { get; init; }
    /// <summary>Words for the class in prompts (e.g. "tiger cat").</summary>
    public required string ClassPromptName { get; init; }
    public string Placeholder { get; init; } = "newclas";
    public string Initializer { get; init; } = "a";
    /// <summary>"{token}" marks the placeholder (required), "{class}" the class name (appended when absent).</summary>
    public IReadOnlyList<string> PromptTemplates { get; init; } = ReferenceTemplates;
    public int MicroStepsPerEpoch { get; init; } = 5;
    public int Steps { get; init; } = 30;
    public double GuidanceScale { get; init; } = 7.0;
    public ulong Seed { get; init; } = 35;
    /// <summary>Image side in pixels; null = the model's sample size.</summary>
    public int? ImageSize { get; init; }
    /// <summary>Scheduler short name; null = the model's own.</summary>
    public string? Scheduler { get; init; }
    public GradientPath GradientPath { get; init; } = GradientPath.Reference;
    public int LastKCalls { get; init; } = 1;
    public SessionMemoryMode MemoryMode { get; init; } = SessionMemoryMode.Recompute;
    public PromptPadding Padding { get; init; } = PromptPadding.MaxLength;
    public double LearningRate { get; init; } = 0.00125;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.01;
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Stop when an epoch's accuracy exceeds this.</summary>
    public double TargetAccuracy { get; init; } = 0.7;
    /// <summary>Stop after this many consecutive epochs without a lower epoch loss.</summary>
    public int PatienceEpochs { get; init; } = 15;
    public int MaxEpochs { get; init; } = 50;
    /// <summary>Overlap the next forward with the current classifier and backward calls.</summary>
    public bool Overlap { get; init; } = true;
}
