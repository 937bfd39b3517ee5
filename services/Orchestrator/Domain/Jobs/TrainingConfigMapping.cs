using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Training;
using ProtoGradientMode = DiscriminativeTokens.Contracts.Diffusion.V1.GradientMode;
using ProtoMemoryMode = DiscriminativeTokens.Contracts.Diffusion.V1.MemoryMode;
using ProtoPadding = DiscriminativeTokens.Contracts.Diffusion.V1.PromptPadding;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>Between the stored <see cref="TrainingConfig"/> (defaults filled in) and the loop's settings.</summary>
public static class TrainingConfigMapping
{
    public static TrainingSettings ToSettings(TrainingConfig config) => new()
    {
        ClassId = config.Target.ClassId,
        ClassPromptName = config.Target.PromptName,
        Placeholder = config.Placeholder,
        Initializer = config.Initializer,
        PromptTemplates = config.PromptTemplates.ToList(),
        MicroStepsPerEpoch = config.MicroStepsPerEpoch,
        Steps = config.Steps,
        GuidanceScale = config.GuidanceScale,
        Seed = config.Seed,
        ImageSize = config.HasImageSize ? config.ImageSize : null,
        Scheduler = string.IsNullOrEmpty(config.Scheduler) ? null : config.Scheduler,
        GradientPath = ToPath(config.GradientMode),
        LastKCalls = config.LastKCalls,
        MemoryMode = ToMemoryMode(config.MemoryMode),
        Padding = ToPadding(config.Padding),
        LearningRate = config.LearningRate,
        Beta1 = config.Beta1,
        Beta2 = config.Beta2,
        Epsilon = config.Epsilon,
        WeightDecay = config.WeightDecay,
        MaxGradNorm = config.MaxGradNorm,
        TargetAccuracy = config.TargetAccuracy,
        PatienceEpochs = config.PatienceEpochs,
        MaxEpochs = config.MaxEpochs,
        Overlap = config.Overlap,
    };

    public static GradientPath ToPath(ProtoGradientMode mode) => mode switch
    {
        ProtoGradientMode.LastK => GradientPath.LastK,
        ProtoGradientMode.Full => GradientPath.Full,
        _ => GradientPath.Reference,
    };

    /// <summary>Unspecified is recompute here (the orchestrator's default), unlike the diffusion service's.</summary>
    public static SessionMemoryMode ToMemoryMode(ProtoMemoryMode mode) =>
        mode == ProtoMemoryMode.KeepGraph ? SessionMemoryMode.KeepGraph : SessionMemoryMode.Recompute;

    public static PromptPadding ToPadding(ProtoPadding padding) =>
        padding == ProtoPadding.ReferenceUnpadded ? PromptPadding.ReferenceUnpadded : PromptPadding.MaxLength;

    /// <summary>JobFinished.reason for a training run.</summary>
    public static string ToReason(StopReason reason) => reason switch
    {
        StopReason.TargetAccuracy => "target_accuracy",
        StopReason.Patience => "patience",
        StopReason.MaxEpochs => "max_epochs",
        _ => reason.ToString(),
    };
}
