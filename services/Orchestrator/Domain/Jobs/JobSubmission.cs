using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Validation;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// Starting a job: the request is validated completely (services asked, defaults filled in) and only then is the job
/// created, so a refused request leaves nothing behind.
/// </summary>
public sealed class JobSubmission(TrainingRequestValidator training, EvaluationRequestValidator evaluation, JobManager jobs)
{
    public const int MaxDisplayNameLength = 200;

    public async Task<Job> StartTrainingAsync(StartTrainingRequest request, CancellationToken cancellationToken)
    {
        CheckDisplayName(request.DisplayName);
        var config = await training.ValidateAsync(request.Config, cancellationToken).ConfigureAwait(false);
        return jobs.StartTraining(config, request.DisplayName);
    }

    public async Task<Job> StartEvaluationAsync(StartEvaluationRequest request, CancellationToken cancellationToken)
    {
        CheckDisplayName(request.DisplayName);
        var config = await evaluation.ValidateAsync(request.Config, cancellationToken).ConfigureAwait(false);
        return jobs.StartEvaluation(config, request.DisplayName);
    }

    private static void CheckDisplayName(string name)
    {
        if (name.Length > MaxDisplayNameLength)
            throw JobRequestException.Invalid($"display_name is {name.Length} characters long; use at most {MaxDisplayNameLength}.");
    }
}
