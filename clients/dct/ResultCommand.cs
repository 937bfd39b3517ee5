using System.CommandLine;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct result`: saves a finished training job's token, or prints an evaluation's accuracies.</summary>
public static class ResultCommand
{
    public static Command Create()
    {
        var jobId = new Argument<string>("job-id") { Description = "A succeeded training or evaluation job." };
        var output = new Option<string?>("--out") { Description = "Folder for learned_embeds.safetensors and token.json [$DCT_TOKENS_DIR/<job id>, else dct-tokens/<job id>]." };
        var orchestrator = CliOptions.Orchestrator();
        var command = new Command("result", "Save a training job's learned token (learned_embeds.safetensors, loadable by diffusers' " +
                                            "load_textual_inversion, plus token.json), or print an evaluation job's accuracies.")
        {
            jobId, output, orchestrator,
        };
        command.SetAction(async (result, cancellation) =>
        {
            using var channel = DctChannel.Create(result.GetValue(orchestrator)!);
            var client = new OrchestratorService.OrchestratorServiceClient(channel);
            string id = result.GetValue(jobId)!;
            try
            {
                var job = await client.GetJobAsync(new GetJobRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                if (job.Kind == JobKind.Evaluation)
                {
                    var evaluation = await client.GetEvaluationResultAsync(new GetEvaluationResultRequest { JobId = id },
                        deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                    Console.WriteLine(EvaluateCommand.Summary(evaluation));
                    return 0;
                }
                var trained = await client.GetTrainingResultAsync(new GetTrainingResultRequest { JobId = id },
                    deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                foreach (string path in TokenResultFiles.Write(trained, result.GetValue(output) ?? TokenResultFiles.DefaultFolder(id)))
                    Console.WriteLine(path);
                return 0;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"result failed: {e.StatusCode}: {e.Status.Detail}");
                return 1;
            }
        });
        return command;
    }
}
