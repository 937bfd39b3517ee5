using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Tokens;

namespace DiscriminativeTokens.Orchestration.Validation;

/// <summary>
/// Checks a StartEvaluation request before anything is created and fills its defaults: the training job must exist
/// (NOT_FOUND) and have succeeded (FAILED_PRECONDITION); seeds must be distinct, as many as images per prompt, and
/// exclude the training seed; the prompts must place the token; the services must answer and the diffusion model must
/// be the one the token was trained against.
/// </summary>
public sealed class EvaluationRequestValidator(
    JobStore store, EndpointRegistry endpoints, IBackendFactory factory, ValidationOptions? options = null)
{
    public const int DefaultImagesPerPrompt = 10;
    public const ulong FirstDefaultSeed = 1000;
    private readonly ValidationOptions _options = options ?? new ValidationOptions();

    public async Task<EvaluationConfig> ValidateAsync(EvaluationConfig? request, CancellationToken cancellationToken)
    {
        if (request is null) throw JobRequestException.Invalid("config is required.");
        var c = request.Clone();
        if (string.IsNullOrWhiteSpace(c.TrainingJobId))
            throw JobRequestException.Invalid("training_job_id is required: the succeeded training job whose token is evaluated.");
        var training = store.Get(c.TrainingJobId) ?? throw JobRequestException.NotFound(c.TrainingJobId);
        if (training.Kind != JobKind.Training)
            throw JobRequestException.Invalid($"Job '{c.TrainingJobId}' is an evaluation job, not a training job.");
        if (training.State != JobState.Succeeded)
            throw JobRequestException.Precondition($"The training job '{c.TrainingJobId}' is {training.State}; only a " +
                                                   "succeeded training job has a token to evaluate.");
        var trainingConfig = training.Training;

        FillSeeds(c, trainingConfig.Seed);
        c.TokenPrompt = string.IsNullOrWhiteSpace(c.TokenPrompt) ? "A photo of {token} {class}" : c.TokenPrompt;
        if (!c.TokenPrompt.Contains("{token}", StringComparison.Ordinal))
            throw JobRequestException.Invalid($"token_prompt \"{c.TokenPrompt}\" has no {{token}}: mark where the learned token goes.");
        c.BaselinePrompt = string.IsNullOrWhiteSpace(c.BaselinePrompt) ? "A photo of a {class}" : c.BaselinePrompt;
        if (c.BaselinePrompt.Contains("{token}", StringComparison.Ordinal))
            throw JobRequestException.Invalid($"baseline_prompt \"{c.BaselinePrompt}\" contains {{token}}; the baseline is the prompt without the token.");
        if (!c.HasSteps) c.Steps = trainingConfig.Steps;
        if (c.Steps < 1) throw JobRequestException.Invalid($"steps = {c.Steps} is out of range: use at least 1.");
        if (!c.HasGuidanceScale) c.GuidanceScale = trainingConfig.GuidanceScale;
        if (!float.IsFinite(c.GuidanceScale) || c.GuidanceScale < _options.MinGuidanceScale || c.GuidanceScale > _options.MaxGuidanceScale)
            throw JobRequestException.Invalid($"guidance_scale = {c.GuidanceScale} is out of range: use " +
                                              $"{_options.MinGuidanceScale}..{_options.MaxGuidanceScale}.");
        if (string.IsNullOrEmpty(c.Scheduler)) c.Scheduler = trainingConfig.Scheduler;

        var diffusionRef = IsSet(c.Diffusion) ? c.Diffusion : trainingConfig.Diffusion;
        var classifierRef = IsSet(c.Classifier) ? c.Classifier : trainingConfig.Classifier;
        await using var services = await JobServices.CreateAsync(endpoints, factory, diffusionRef, classifierRef);
        c.Diffusion = EndpointRegistry.Normalize(diffusionRef, services.DiffusionEndpoint);
        c.Classifier = EndpointRegistry.Normalize(classifierRef, services.ClassifierEndpoint);

        var timeout = _options.ServiceProbeTimeout;
        var model = await ServiceProbe.AskAsync("diffusion", services.DiffusionEndpoint, timeout, services.Diffusion.GetModelInfoAsync, cancellationToken);
        var classes = await ServiceProbe.AskAsync("classifier", services.ClassifierEndpoint, timeout, services.Classifier.GetInfoAsync, cancellationToken);
        if (c.Steps > model.MaxSteps)
            throw JobRequestException.Invalid($"steps = {c.Steps} is out of range: the diffusion model allows 1..{model.MaxSteps}.");
        if (trainingConfig.Target.ClassId >= classes.NumClasses)
            throw JobRequestException.Invalid($"The classifier '{classes.ModelId}' has {classes.NumClasses} classes; the " +
                                              $"token's class {trainingConfig.Target.ClassId} is not one of them.");
        try
        {
            LearnedTokenFile.Load(training.ArtifactsDir, model.TextHiddenSize, model.TextEncoderSha256);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            throw JobRequestException.Precondition($"The token of '{c.TrainingJobId}' cannot be used with the diffusion " +
                                                   $"service '{services.DiffusionEndpoint.Name}': {e.Message}");
        }
        return c;
    }

    private void FillSeeds(EvaluationConfig c, ulong trainingSeed)
    {
        if (c.HasImagesPerPrompt && (c.ImagesPerPrompt < 1 || c.ImagesPerPrompt > _options.MaxImagesPerPrompt))
            throw JobRequestException.Invalid($"images_per_prompt = {c.ImagesPerPrompt} is out of range: use 1..{_options.MaxImagesPerPrompt}.");
        if (c.Seeds.Count == 0)
        {
            int count = c.HasImagesPerPrompt ? c.ImagesPerPrompt : DefaultImagesPerPrompt;
            for (ulong seed = FirstDefaultSeed; c.Seeds.Count < count; seed++)
                if (seed != trainingSeed) c.Seeds.Add(seed);
        }
        if (!c.HasImagesPerPrompt) c.ImagesPerPrompt = c.Seeds.Count;
        if (c.Seeds.Count != c.ImagesPerPrompt)
            throw JobRequestException.Invalid($"{c.Seeds.Count} seeds were given for images_per_prompt = {c.ImagesPerPrompt}; " +
                                              "give one seed per image, or leave the seeds out.");
        if (c.ImagesPerPrompt > _options.MaxImagesPerPrompt)
            throw JobRequestException.Invalid($"{c.ImagesPerPrompt} images per prompt is too many: use at most {_options.MaxImagesPerPrompt}.");
        if (c.Seeds.Contains(trainingSeed))
            throw JobRequestException.Invalid($"seed {trainingSeed} is the training seed; evaluate on seeds never used in training.");
        if (c.Seeds.Distinct().Count() != c.Seeds.Count)
            throw JobRequestException.Invalid("The seeds repeat; give distinct seeds so each image is a new sample.");
    }

    private static bool IsSet(ServiceRef? reference) =>
        reference is not null && reference.TargetCase != ServiceRef.TargetOneofCase.None &&
        !(reference.TargetCase == ServiceRef.TargetOneofCase.Endpoint && reference.Endpoint.Trim().Length == 0);
}
