using System.CommandLine;
using System.Globalization;
using System.Text;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct evaluate`: compares the token prompt with the baseline prompt on unseen seeds.</summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var trainingJob = new Argument<string>("training-job-id") { Description = "The succeeded training job whose token is evaluated." };
        var classifier = new Option<string?>("--classifier-endpoint") { Description = "Classifier endpoint that scores the images [the training job's]; a separate one avoids grading a token with the classifier it was trained against." };
        var diffusion = new Option<string?>("--diffusion-endpoint") { Description = "Diffusion endpoint [the training job's]." };
        var images = new Option<int?>("--images") { Description = "Images per prompt [10]." };
        var seeds = new Option<ulong[]>("--seed") { Description = "Seed of one image, repeatable; never the training seed [1000, 1001, ...]." };
        var tokenPrompt = new Option<string?>("--token-prompt") { Description = "Prompt with the token [\"A photo of {token} {class}\"]." };
        var baselinePrompt = new Option<string?>("--baseline-prompt") { Description = "Prompt without it [\"A photo of a {class}\"]." };
        var steps = new Option<int?>("--steps") { Description = "Sampler steps [the training job's]." };
        var guidance = new Option<float?>("--guidance") { Description = "Guidance scale [the training job's]." };
        var orchestrator = CliOptions.Orchestrator();
        var command = new Command("evaluate", "Generate images from the token prompt and from the baseline prompt with seeds never used in " +
                                              "training, classify them and report both accuracies. The images stay in the job's artifacts.")
        {
            trainingJob, classifier, diffusion, images, seeds, tokenPrompt, baselinePrompt, steps, guidance, orchestrator,
        };
        command.SetAction(async (result, cancellation) =>
        {
            var config = new EvaluationConfig
            {
                TrainingJobId = result.GetValue(trainingJob)!,
                Classifier = new ServiceRef { Endpoint = result.GetValue(classifier) ?? "" },
                Diffusion = new ServiceRef { Endpoint = result.GetValue(diffusion) ?? "" },
                TokenPrompt = result.GetValue(tokenPrompt) ?? "",
                BaselinePrompt = result.GetValue(baselinePrompt) ?? "",
            };
            if (result.GetValue(images) is { } k) config.ImagesPerPrompt = k;
            config.Seeds.AddRange(result.GetValue(seeds) ?? []);
            if (result.GetValue(steps) is { } s) config.Steps = s;
            if (result.GetValue(guidance) is { } g) config.GuidanceScale = g;
            using var channel = DctChannel.Create(result.GetValue(orchestrator)!);
            var client = new OrchestratorService.OrchestratorServiceClient(channel);
            try
            {
                var job = await client.StartEvaluationAsync(new StartEvaluationRequest { Config = config },
                    deadline: DateTime.UtcNow.AddMinutes(1), cancellationToken: cancellation);
                Console.WriteLine($"job {job.JobId}");
                var terminal = await new JobWatcher(client, Console.Error).WatchAsync(job.JobId, 0,
                    e => Console.WriteLine(JobEventFormatter.Format(e)), cancellation);
                if (terminal.EventCase != JobEvent.EventOneofCase.Finished) return 1;
                var evaluation = await client.GetEvaluationResultAsync(new GetEvaluationResultRequest { JobId = job.JobId },
                    deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                Console.WriteLine(Summary(evaluation));
                return 0;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"evaluate failed: {e.StatusCode}: {e.Status.Detail}");
                return e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.PermissionDenied ? 2 : 1;
            }
            catch (OperationCanceledException)
            {
                return 130;
            }
        });
        return command;
    }

    public static string Summary(EvaluationResult r)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"token    accuracy {r.TokenAccuracy:P0} ({r.ImagesPerPrompt} images): {r.TokenPrompt}");
        text.AppendLine(CultureInfo.InvariantCulture, $"baseline accuracy {r.BaselineAccuracy:P0} ({r.ImagesPerPrompt} images): {r.BaselinePrompt}");
        text.Append(CultureInfo.InvariantCulture, $"seeds {string.Join(", ", r.Seeds)}; classifier {r.ClassifierModelId}");
        return text.ToString();
    }
}
