using System.CommandLine;
using System.CommandLine.Parsing;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Cli;

/// <summary>
/// The `dct train` options and their translation into a TrainingConfig. Options left out stay unset so the
/// orchestrator applies the reference method's defaults (shown in brackets in --help).
/// </summary>
public sealed class TrainingRequestOptions
{
    public Argument<string> Target { get; } = new("class")
    {
        Description = "Target class: a 0-based class id of the classifier, or its label (case-insensitive), e.g. 282 or \"tiger cat\".",
    };
    public Option<string?> PromptName { get; } = new("--class-name") { Description = "Words for the class in prompts [the classifier's label]." };
    public Option<string?> Diffusion { get; } = new("--diffusion-endpoint") { Description = "Name of the orchestrator's diffusion endpoint [default]." };
    public Option<string?> Classifier { get; } = new("--classifier-endpoint") { Description = "Name of the orchestrator's classifier endpoint [default]." };
    public Option<string?> DiffusionAddress { get; } = new("--diffusion-address") { Description = "Diffusion service address instead of an endpoint name (only if the operator allows arbitrary addresses)." };
    public Option<string?> ClassifierAddress { get; } = new("--classifier-address") { Description = "Classifier service address instead of an endpoint name (only if the operator allows arbitrary addresses)." };
    public Option<string?> Placeholder { get; } = new("--placeholder") { Description = "Placeholder word for the new token [newclas]." };
    public Option<string?> Initializer { get; } = new("--initializer") { Description = "Word whose embedding starts the token; must be one token [a]." };
    public Option<string[]> Templates { get; } = new("--template")
    {
        Description = "Prompt template, repeatable; {token} marks the placeholder (required), {class} the class name " +
                      "(appended when absent) [the three reference templates].",
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<int?> MicroSteps { get; } = new("--micro-steps") { Description = "Images per epoch, cycling through the templates [5]." };
    public Option<int?> Steps { get; } = new("--steps") { Description = "Sampler steps per image [30]." };
    public Option<float?> Guidance { get; } = new("--guidance") { Description = "Classifier-free guidance scale [7]." };
    public Option<ulong?> Seed { get; } = new("--seed") { Description = "Noise seed; every epoch restarts from it [35]." };
    public Option<int?> Size { get; } = new("--size") { Description = "Image side in pixels [the model's sample size]." };
    public Option<string?> Scheduler { get; } = new("--scheduler") { Description = "pndm, ddim, euler or dpmpp2m [the model's own]." };
    public Option<string?> Gradient { get; } = new("--gradient")
    {
        Description = "Which UNet calls are differentiated: reference (the paper's), last-k (see --last-k) or full [reference].",
    };
    public Option<int?> LastK { get; } = new("--last-k") { Description = "UNet calls to differentiate with --gradient last-k [1]." };
    public Option<string?> Memory { get; } = new("--memory")
    {
        Description = "Gradient session memory: recompute (keeps only the last latent, recomputes on backward) or keep-graph [recompute].",
    };
    public Option<string?> Padding { get; } = new("--padding") { Description = "Prompt padding: max-length or reference (unpadded, as the paper's code) [max-length]." };
    public Option<double?> LearningRate { get; } = new("--lr") { Description = "AdamW learning rate [0.00125]." };
    public Option<double?> Beta1 { get; } = new("--beta1") { Description = "AdamW beta1 [0.9]." };
    public Option<double?> Beta2 { get; } = new("--beta2") { Description = "AdamW beta2 [0.999]." };
    public Option<double?> Epsilon { get; } = new("--eps") { Description = "AdamW epsilon [1e-8]." };
    public Option<double?> WeightDecay { get; } = new("--weight-decay") { Description = "AdamW weight decay [0.01]." };
    public Option<double?> MaxGradNorm { get; } = new("--max-grad-norm") { Description = "Clip of the epoch's accumulated gradient [1]." };
    public Option<double?> TargetAccuracy { get; } = new("--target-accuracy") { Description = "Stop when an epoch's accuracy exceeds this [0.7]." };
    public Option<int?> Patience { get; } = new("--patience") { Description = "Stop after this many epochs without a lower loss [15]." };
    public Option<int?> MaxEpochs { get; } = new("--max-epochs") { Description = "Stop after this many epochs [50]." };
    public Option<bool> NoOverlap { get; } = new("--no-overlap") { Description = "Do not overlap the next image's sampling with the current image's classifier and backward calls." };
    public Option<string?> DisplayName { get; } = new("--name") { Description = "Label shown in job listings." };

    public IEnumerable<Symbol> Symbols =>
    [
        Target, PromptName, Diffusion, Classifier, DiffusionAddress, ClassifierAddress, Placeholder, Initializer,
        Templates, MicroSteps, Steps, Guidance, Seed, Size, Scheduler, Gradient, LastK, Memory, Padding, LearningRate,
        Beta1, Beta2, Epsilon, WeightDecay, MaxGradNorm, TargetAccuracy, Patience, MaxEpochs, NoOverlap, DisplayName,
    ];

    /// <summary>Builds the request; throws ArgumentException with the option's name for values it cannot map.</summary>
    public StartTrainingRequest ToRequest(ParseResult result)
    {
        var config = new TrainingConfig
        {
            Diffusion = ServiceRef(result.GetValue(Diffusion), result.GetValue(DiffusionAddress), "--diffusion"),
            Classifier = ServiceRef(result.GetValue(Classifier), result.GetValue(ClassifierAddress), "--classifier"),
            Target = TargetOf(result.GetValue(Target)!, result.GetValue(PromptName)),
            Placeholder = result.GetValue(Placeholder) ?? "",
            Initializer = result.GetValue(Initializer) ?? "",
            Scheduler = result.GetValue(Scheduler) ?? "",
            GradientMode = GradientModeOf(result.GetValue(Gradient)),
            MemoryMode = MemoryModeOf(result.GetValue(Memory)),
            Padding = PaddingOf(result.GetValue(Padding)),
        };
        config.PromptTemplates.AddRange(result.GetValue(Templates) ?? []);
        if (result.GetValue(MicroSteps) is { } microSteps) config.MicroStepsPerEpoch = microSteps;
        if (result.GetValue(Steps) is { } steps) config.Steps = steps;
        if (result.GetValue(Guidance) is { } guidance) config.GuidanceScale = guidance;
        if (result.GetValue(Seed) is { } seed) config.Seed = seed;
        if (result.GetValue(Size) is { } size) config.ImageSize = size;
        if (result.GetValue(LastK) is { } lastK) config.LastKCalls = lastK;
        if (result.GetValue(LearningRate) is { } lr) config.LearningRate = lr;
        if (result.GetValue(Beta1) is { } beta1) config.Beta1 = beta1;
        if (result.GetValue(Beta2) is { } beta2) config.Beta2 = beta2;
        if (result.GetValue(Epsilon) is { } eps) config.Epsilon = eps;
        if (result.GetValue(WeightDecay) is { } decay) config.WeightDecay = decay;
        if (result.GetValue(MaxGradNorm) is { } clip) config.MaxGradNorm = clip;
        if (result.GetValue(TargetAccuracy) is { } accuracy) config.TargetAccuracy = accuracy;
        if (result.GetValue(Patience) is { } patience) config.PatienceEpochs = patience;
        if (result.GetValue(MaxEpochs) is { } epochs) config.MaxEpochs = epochs;
        if (result.GetValue(NoOverlap)) config.Overlap = false;
        return new StartTrainingRequest { Config = config, DisplayName = result.GetValue(DisplayName) ?? "" };
    }

    /// <summary>A number is a class id, anything else a label.</summary>
    public static TargetClass TargetOf(string text, string? promptName)
    {
        var target = new TargetClass { PromptName = promptName ?? "" };
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
            target.ClassId = id;
        else
            target.Label = text;
        return target;
    }

    private static ServiceRef ServiceRef(string? endpoint, string? address, string option)
    {
        if (endpoint is not null && address is not null)
            throw new ArgumentException($"Give either {option}-endpoint or {option}-address, not both.");
        return address is not null ? new ServiceRef { Address = address } : new ServiceRef { Endpoint = endpoint ?? "" };
    }

    public static GradientMode GradientModeOf(string? text) => text?.ToLowerInvariant() switch
    {
        null or "" => GradientMode.Unspecified,
        "reference" => GradientMode.Reference,
        "last-k" or "lastk" => GradientMode.LastK,
        "full" => GradientMode.Full,
        _ => throw new ArgumentException($"--gradient '{text}' is not one of: reference, last-k, full."),
    };

    public static MemoryMode MemoryModeOf(string? text) => text?.ToLowerInvariant() switch
    {
        null or "" => MemoryMode.Unspecified,
        "recompute" => MemoryMode.Recompute,
        "keep-graph" or "keepgraph" => MemoryMode.KeepGraph,
        _ => throw new ArgumentException($"--memory '{text}' is not one of: recompute, keep-graph."),
    };

    public static PromptPadding PaddingOf(string? text) => text?.ToLowerInvariant() switch
    {
        null or "" => PromptPadding.Unspecified,
        "max-length" => PromptPadding.MaxLength,
        "reference" => PromptPadding.ReferenceUnpadded,
        _ => throw new ArgumentException($"--padding '{text}' is not one of: max-length, reference."),
    };
}
