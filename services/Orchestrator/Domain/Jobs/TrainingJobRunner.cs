using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Tokens;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// Runs a training job: resolves its endpoints, asks both services who they are, resumes from the job's checkpoint
/// when there is one, runs the training engine with an observer that records events and checkpoints, and writes the
/// learned token (learned_embeds.safetensors + token.json) into the job's artifacts.
/// </summary>
public sealed class TrainingJobRunner(
    EndpointRegistry endpoints, IBackendFactory factory, ITrainingEngine engine, MicroStepRetryOptions retry,
    TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<JobFinished> RunAsync(JobRun run, CancellationToken cancellationToken)
    {
        var config = run.Job.Training ?? throw new InvalidOperationException($"Job {run.JobId} has no training config.");
        await using var services = await JobServices.CreateAsync(endpoints, factory, config.Diffusion, config.Classifier);
        var startup = BackendCalls.StartupRetry(retry);
        var model = await startup.ExecuteAsync(async ct => await services.Diffusion.GetModelInfoAsync(ct), cancellationToken);
        var classes = await startup.ExecuteAsync(async ct => await services.Classifier.GetInfoAsync(ct), cancellationToken);
        int classId = config.Target.ClassId;
        string label = BackendCalls.Label(classes, classId);
        run.Append(services.Started(classId, label));

        string checkpointPath = Path.Combine(run.ArtifactsDirectory, CheckpointFile.FileName);
        var resumeFrom = CheckpointFile.TryRead(checkpointPath);
        if (resumeFrom is not null)
            run.Append(new JobEvent { Resumed = new JobResumed { Epoch = resumeFrom.EpochsCompleted } },
                       job => TrainingJobObserver.Apply(job, resumeFrom));

        var settings = TrainingConfigMapping.ToSettings(config);
        var observer = new TrainingJobObserver(run, checkpointPath, classes);
        var outcome = await engine.RunAsync(services.Diffusion, services.Classifier, settings, observer, retry, resumeFrom, cancellationToken);

        var sidecar = new TokenSidecar
        {
            Placeholder = settings.Placeholder,
            ClassId = classId,
            ClassLabel = label,
            ClassPromptName = settings.ClassPromptName,
            Classifier = new ClassifierIdentity(services.ClassifierEndpoint.Name, services.ClassifierEndpoint.Address, classes.ModelId),
            Model = new ModelIdentity(model.ModelId, model.TextEncoderSha256, model.TextHiddenSize),
            TrainingPrompts = outcome.Prompts,
            Hyperparameters = settings,
            Epochs = outcome.Epochs,
            StopReason = TrainingConfigMapping.ToReason(outcome.Reason),
            BestEpoch = outcome.BestEpoch,
            BestLoss = outcome.BestLoss,
            FinalAccuracy = outcome.FinalAccuracy,
            CreatedAt = _time.GetUtcNow(),
        };
        LearnedTokenFile.Write(run.ArtifactsDirectory, new LearnedToken(outcome.BestToken, sidecar));
        return new JobFinished
        {
            Reason = sidecar.StopReason,
            Epochs = outcome.Epochs,
            BestLoss = outcome.BestLoss,
            FinalAccuracy = outcome.FinalAccuracy,
        };
    }
}
