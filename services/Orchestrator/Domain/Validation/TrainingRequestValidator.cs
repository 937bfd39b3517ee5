using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Training;
using ProtoGradientMode = DiscriminativeTokens.Contracts.Diffusion.V1.GradientMode;
using ProtoMemoryMode = DiscriminativeTokens.Contracts.Diffusion.V1.MemoryMode;
using ProtoPadding = DiscriminativeTokens.Contracts.Diffusion.V1.PromptPadding;

namespace DiscriminativeTokens.Orchestration.Validation;

/// <summary>
/// Checks a StartTraining request completely before anything is created, and returns the config as it will be
/// stored: every default filled in, the endpoint names resolved, the target class resolved to its id and prompt name.
/// Bad values are INVALID_ARGUMENT, an address the operator does not allow PERMISSION_DENIED, a service that does not
/// answer FAILED_PRECONDITION. An unknown class id or label, and an ambiguous label, are INVALID_ARGUMENT: the caller
/// chose a value that does not exist (orchestrator.proto allows either code; this one is used everywhere).
/// </summary>
public sealed class TrainingRequestValidator(EndpointRegistry endpoints, IBackendFactory factory, ValidationOptions? options = null)
{
    private readonly ValidationOptions _options = options ?? new ValidationOptions();

    public async Task<TrainingConfig> ValidateAsync(TrainingConfig? request, CancellationToken cancellationToken)
    {
        if (request is null) throw JobRequestException.Invalid("config is required.");
        var config = request.Clone();
        var defaults = new TrainingSettings { ClassId = 0, ClassPromptName = "" };
        FillAndCheckValues(config, defaults);

        // Which services: names and permissions are checked before any connection.
        await using var services = await JobServices.CreateAsync(endpoints, factory, config.Diffusion, config.Classifier);
        config.Diffusion = EndpointRegistry.Normalize(config.Diffusion, services.DiffusionEndpoint);
        config.Classifier = EndpointRegistry.Normalize(config.Classifier, services.ClassifierEndpoint);

        var timeout = _options.ServiceProbeTimeout;
        var model = await ServiceProbe.AskAsync("diffusion", services.DiffusionEndpoint, timeout, services.Diffusion.GetModelInfoAsync, cancellationToken);
        var classes = await ServiceProbe.AskAsync("classifier", services.ClassifierEndpoint, timeout, services.Classifier.GetInfoAsync, cancellationToken);
        CheckAgainstModel(config, model);
        ResolveTarget(config, classes);
        await CheckTokensAsync(config, model, services.Diffusion, services.DiffusionEndpoint, cancellationToken);
        return config;
    }

    private void FillAndCheckValues(TrainingConfig c, TrainingSettings d)
    {
        if (c.Target is null || c.Target.SelectionCase == TargetClass.SelectionOneofCase.None)
            throw JobRequestException.Invalid("target is required: give target.class_id (0-based) or target.label.");
        if (c.Target.SelectionCase == TargetClass.SelectionOneofCase.ClassId && c.Target.ClassId < 0)
            throw JobRequestException.Invalid($"target.class_id = {c.Target.ClassId} is negative; class ids are 0-based.");

        c.Placeholder = string.IsNullOrWhiteSpace(c.Placeholder) ? d.Placeholder : c.Placeholder.Trim();
        if (c.Placeholder.Any(char.IsWhiteSpace) || c.Placeholder.Contains('{') || c.Placeholder.Contains('}'))
            throw JobRequestException.Invalid($"placeholder '{c.Placeholder}' must be one word without spaces or braces, e.g. \"newclas\".");
        c.Initializer = string.IsNullOrWhiteSpace(c.Initializer) ? d.Initializer : c.Initializer.Trim();
        if (c.Initializer.Any(char.IsWhiteSpace))
            throw JobRequestException.Invalid($"initializer '{c.Initializer}' must be one word (a single token), e.g. \"a\".");

        if (c.PromptTemplates.Count == 0) c.PromptTemplates.AddRange(d.PromptTemplates);
        foreach (string template in c.PromptTemplates)
            if (!template.Contains("{token}", StringComparison.Ordinal))
                throw JobRequestException.Invalid(
                    $"The prompt template \"{template}\" has no {{token}}: mark where the placeholder goes, e.g. \"A photo of {{token}} {{class}}\".");

        if (!c.HasMicroStepsPerEpoch) c.MicroStepsPerEpoch = d.MicroStepsPerEpoch;
        Range("micro_steps_per_epoch", c.MicroStepsPerEpoch, 1, _options.MaxMicroStepsPerEpoch);
        if (!c.HasSteps) c.Steps = d.Steps;
        if (c.Steps < 1) throw JobRequestException.Invalid($"steps = {c.Steps} is out of range: use at least 1 sampler step.");
        if (!c.HasGuidanceScale) c.GuidanceScale = (float)d.GuidanceScale;
        if (!float.IsFinite(c.GuidanceScale) || c.GuidanceScale < _options.MinGuidanceScale || c.GuidanceScale > _options.MaxGuidanceScale)
            throw JobRequestException.Invalid($"guidance_scale = {c.GuidanceScale} is out of range: use " +
                                              $"{_options.MinGuidanceScale}..{_options.MaxGuidanceScale} (1 turns guidance off).");
        if (!c.HasSeed) c.Seed = d.Seed;
        if (c.HasImageSize && c.ImageSize <= 0)
            throw JobRequestException.Invalid($"image_size = {c.ImageSize} must be positive (or unset for the model's size).");

        if (!Enum.IsDefined(c.GradientMode))
            throw JobRequestException.Invalid($"gradient_mode {(int)c.GradientMode} is not a known mode.");
        if (c.GradientMode == ProtoGradientMode.Unspecified) c.GradientMode = ProtoGradientMode.Reference;
        if (!c.HasLastKCalls) c.LastKCalls = d.LastKCalls;
        if (c.LastKCalls < 1) throw JobRequestException.Invalid($"last_k_calls = {c.LastKCalls} must be at least 1.");
        if (!Enum.IsDefined(c.MemoryMode))
            throw JobRequestException.Invalid($"memory_mode {(int)c.MemoryMode} is not a known mode.");
        if (c.MemoryMode == ProtoMemoryMode.Unspecified) c.MemoryMode = ProtoMemoryMode.Recompute;
        if (!Enum.IsDefined(c.Padding))
            throw JobRequestException.Invalid($"padding {(int)c.Padding} is not a known padding.");
        if (c.Padding == ProtoPadding.Unspecified) c.Padding = ProtoPadding.MaxLength;

        if (!c.HasLearningRate) c.LearningRate = d.LearningRate;
        if (!double.IsFinite(c.LearningRate) || c.LearningRate <= 0)
            throw JobRequestException.Invalid($"learning_rate = {c.LearningRate} must be positive.");
        if (!c.HasBeta1) c.Beta1 = d.Beta1;
        if (!c.HasBeta2) c.Beta2 = d.Beta2;
        Beta("beta1", c.Beta1);
        Beta("beta2", c.Beta2);
        if (!c.HasEpsilon) c.Epsilon = d.Epsilon;
        if (!double.IsFinite(c.Epsilon) || c.Epsilon <= 0) throw JobRequestException.Invalid($"epsilon = {c.Epsilon} must be positive.");
        if (!c.HasWeightDecay) c.WeightDecay = d.WeightDecay;
        if (!double.IsFinite(c.WeightDecay) || c.WeightDecay < 0)
            throw JobRequestException.Invalid($"weight_decay = {c.WeightDecay} must be zero or positive.");
        if (!c.HasMaxGradNorm) c.MaxGradNorm = d.MaxGradNorm;
        if (!double.IsFinite(c.MaxGradNorm) || c.MaxGradNorm <= 0)
            throw JobRequestException.Invalid($"max_grad_norm = {c.MaxGradNorm} must be positive.");
        if (!c.HasTargetAccuracy) c.TargetAccuracy = d.TargetAccuracy;
        if (!(c.TargetAccuracy > 0 && c.TargetAccuracy <= 1))
            throw JobRequestException.Invalid($"target_accuracy = {c.TargetAccuracy} is out of range: use a value in (0, 1].");
        if (!c.HasPatienceEpochs) c.PatienceEpochs = d.PatienceEpochs;
        Range("patience_epochs", c.PatienceEpochs, 1, _options.MaxEpochs);
        if (!c.HasMaxEpochs) c.MaxEpochs = d.MaxEpochs;
        Range("max_epochs", c.MaxEpochs, 1, _options.MaxEpochs);
        if (!c.HasOverlap) c.Overlap = d.Overlap;
    }

    private static void CheckAgainstModel(TrainingConfig c, DiffusionModelInfo model)
    {
        if (c.Steps > model.MaxSteps)
            throw JobRequestException.Invalid($"steps = {c.Steps} is out of range: the diffusion model allows 1..{model.MaxSteps}.");
        if (!c.HasImageSize) c.ImageSize = model.SampleSize;
        if (c.ImageSize % model.VaeScaleFactor != 0 || c.ImageSize > model.MaxImageSize)
            throw JobRequestException.Invalid($"image_size = {c.ImageSize} is not usable: use a multiple of {model.VaeScaleFactor} " +
                                              $"up to {model.MaxImageSize} (the model's own size is {model.SampleSize}).");
        if (c.Scheduler.Length > 0 && model.AvailableSchedulers.Count > 0 &&
            !model.AvailableSchedulers.Contains(c.Scheduler, StringComparer.OrdinalIgnoreCase))
            throw JobRequestException.Invalid($"scheduler '{c.Scheduler}' is not available; use one of " +
                                              $"{string.Join(", ", model.AvailableSchedulers)} or leave it empty for the model's own.");
    }

    private static void ResolveTarget(TrainingConfig c, ClassifierModelInfo classes)
    {
        int classId;
        if (c.Target.SelectionCase == TargetClass.SelectionOneofCase.ClassId)
        {
            classId = c.Target.ClassId;
            if (classId >= classes.NumClasses)
                throw JobRequestException.Invalid($"target.class_id = {classId} does not exist: the classifier " +
                                                  $"'{classes.ModelId}' has classes 0..{classes.NumClasses - 1}.");
        }
        else
        {
            string label = c.Target.Label.Trim();
            var matches = Enumerable.Range(0, classes.Labels.Count)
                .Where(i => string.Equals(classes.Labels[i], label, StringComparison.OrdinalIgnoreCase)).ToList();
            if (matches.Count == 0)
                throw JobRequestException.Invalid($"The classifier '{classes.ModelId}' has no class labelled '{label}'. " +
                                                  $"Labels include: {string.Join(", ", classes.Labels.Take(10).Select(l => $"'{l}'"))}" +
                                                  (classes.Labels.Count > 10 ? ", ..." : "") + "; or give target.class_id.");
            if (matches.Count > 1)
                throw JobRequestException.Invalid($"The label '{label}' is ambiguous: classes {string.Join(", ", matches)} " +
                                                  "carry it. Give target.class_id instead.");
            classId = matches[0];
        }
        string promptName = c.Target.PromptName.Trim();
        if (promptName.Length == 0)
            promptName = classId < classes.Labels.Count ? classes.Labels[classId] : "";
        if (promptName.Length == 0)
            throw JobRequestException.Invalid($"Class {classId} has no label to put in the prompts; set target.prompt_name.");
        c.Target = new TargetClass { ClassId = classId, PromptName = promptName };
    }

    private static async Task CheckTokensAsync(TrainingConfig c, DiffusionModelInfo model, IDiffusionBackend diffusion,
        ResolvedEndpoint endpoint, CancellationToken cancellationToken)
    {
        float[] initial;
        try
        {
            initial = await diffusion.GetTokenEmbeddingAsync(c.Initializer, cancellationToken);
        }
        catch (BackendException e) when (e.Failure == BackendFailure.InvalidRequest)
        {
            throw JobRequestException.Invalid($"initializer '{c.Initializer}' cannot initialize the token: {e.Detail}. " +
                                              "Use a word that is a single token of the vocabulary, e.g. \"a\".");
        }
        catch (BackendException e)
        {
            throw JobRequestException.Precondition($"The diffusion service '{endpoint.Name}' at {endpoint.Address} could " +
                                                   $"not look up the initializer: {e.Detail}");
        }
        if (initial.Length != model.TextHiddenSize)
            throw JobRequestException.Precondition($"The diffusion service returned an initializer embedding of " +
                                                   $"{initial.Length} values for hidden size {model.TextHiddenSize}.");
        bool placeholderIsAWord;
        try
        {
            await diffusion.GetTokenEmbeddingAsync(c.Placeholder, cancellationToken);
            placeholderIsAWord = true;
        }
        catch (BackendException e) when (e.Failure == BackendFailure.InvalidRequest)
        {
            placeholderIsAWord = false;
        }
        catch (BackendException e)
        {
            throw JobRequestException.Precondition($"The diffusion service '{endpoint.Name}' at {endpoint.Address} could " +
                                                   $"not look up the placeholder: {e.Detail}");
        }
        if (placeholderIsAWord)
            throw JobRequestException.Invalid($"placeholder '{c.Placeholder}' is already a token of the vocabulary; " +
                                              "pick a made-up word such as \"newclas\".");
    }

    private static void Range(string name, int value, int min, int max)
    {
        if (value < min || value > max)
            throw JobRequestException.Invalid($"{name} = {value} is out of range: use {min}..{max}.");
    }

    private static void Beta(string name, double value)
    {
        if (!(value >= 0 && value < 1))
            throw JobRequestException.Invalid($"{name} = {value} is out of range: use a value in [0, 1).");
    }
}
