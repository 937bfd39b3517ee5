using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Imaging;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Evaluation;
using DiscriminativeTokens.Orchestration.Tokens;
using DiscriminativeTokens.Orchestration.Training;
using DiscriminativeTokens.Torch;
using Google.Protobuf;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// Runs an evaluation job: loads the training job's token (checked against the diffusion model), generates and scores
/// the token and baseline images, keeps each as a PNG in the job's artifacts and writes evaluation.json.
/// </summary>
public sealed class EvaluationJobRunner(
    JobStore store, EndpointRegistry endpoints, IBackendFactory factory, IEvaluationEngine engine,
    MicroStepRetryOptions retry)
{
    public const string ResultFileName = "evaluation.json";

    public static readonly JsonFormatter ResultFormatter =
        new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());

    public async Task<JobFinished> RunAsync(JobRun run, CancellationToken cancellationToken)
    {
        var config = run.Job.Evaluation ?? throw new InvalidOperationException($"Job {run.JobId} has no evaluation config.");
        var training = store.Get(config.TrainingJobId)
                       ?? throw JobRequestException.Precondition($"The training job '{config.TrainingJobId}' no longer exists.");
        var trainingConfig = training.Training;
        await using var services = await JobServices.CreateAsync(endpoints, factory, config.Diffusion, config.Classifier);
        var startup = BackendCalls.StartupRetry(retry);
        var model = await startup.ExecuteAsync(async ct => await services.Diffusion.GetModelInfoAsync(ct), cancellationToken);
        var classes = await startup.ExecuteAsync(async ct => await services.Classifier.GetInfoAsync(ct), cancellationToken);
        var token = LearnedTokenFile.Load(training.ArtifactsDir, model.TextHiddenSize, model.TextEncoderSha256);
        int classId = trainingConfig.Target.ClassId;
        run.Append(services.Started(classId, BackendCalls.Label(classes, classId)));

        var settings = new EvaluationSettings
        {
            Token = new LearnedTokenVector(token.Placeholder, token.Embedding),
            ClassId = classId,
            ClassPromptName = trainingConfig.Target.PromptName,
            TokenPrompt = config.TokenPrompt,
            BaselinePrompt = config.BaselinePrompt,
            Seeds = config.Seeds.ToList(),
            TrainingSeed = trainingConfig.Seed,
            Steps = config.Steps,
            GuidanceScale = config.GuidanceScale,
            ImageSize = trainingConfig.HasImageSize ? trainingConfig.ImageSize : null,
            Scheduler = string.IsNullOrEmpty(config.Scheduler) ? null : config.Scheduler,
            Padding = TrainingConfigMapping.ToPadding(trainingConfig.Padding),
        };
        var observer = new ImageKeeper(run);
        var outcome = await engine.RunAsync(services.Diffusion, services.Classifier, settings, observer, cancellationToken);

        var result = new EvaluationResult
        {
            JobId = run.JobId,
            TrainingJobId = config.TrainingJobId,
            TokenPrompt = outcome.TokenPrompt,
            BaselinePrompt = outcome.BaselinePrompt,
            TokenAccuracy = outcome.TokenAccuracy,
            BaselineAccuracy = outcome.BaselineAccuracy,
            ImagesPerPrompt = outcome.ImagesPerPrompt,
            ClassifierModelId = outcome.ClassifierModelId,
        };
        result.Seeds.AddRange(outcome.Seeds);
        result.Images.AddRange(observer.Images);
        AtomicFile.Write(Path.Combine(run.ArtifactsDirectory, ResultFileName),
                         stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(ResultFormatter.Format(result))));
        return new JobFinished { Reason = "completed", FinalAccuracy = outcome.TokenAccuracy };
    }

    /// <summary>Saves each scored image as images/&lt;kind&gt;-&lt;seed&gt;.png and reports it as an event.</summary>
    private sealed class ImageKeeper(JobRun run) : IEvaluationObserver
    {
        public List<EvaluationImage> Images { get; } = [];

        public Task OnImageAsync(EvaluationImageReport report, CancellationToken cancellationToken)
        {
            string kind = report.Kind == EvaluationPromptKind.Token ? "token" : "baseline";
            string path = Path.Combine(run.ArtifactsDirectory, "images", $"{kind}-{report.Seed}.png");
            var shape = report.Image.Shape;
            if (shape.Length < 3 || shape[^3] != 3 || report.Image.ElementCount != 3 * shape[^2] * shape[^1])
                throw new InvalidDataException($"An evaluation image should be [1, 3, H, W], not {report.Image}.");
            PngWriter.Write(path, report.Image.Values, (int)shape[^2], (int)shape[^1]);
            var image = new EvaluationImage
            {
                PromptKind = kind,
                Prompt = report.Prompt,
                Seed = report.Seed,
                PredictedClassId = report.PredictedClassId,
                TargetProbability = report.TargetProbability,
                Correct = report.Correct,
                Path = path,
            };
            Images.Add(image);
            run.Append(new JobEvent { EvaluationImage = image });
            return Task.CompletedTask;
        }
    }
}
