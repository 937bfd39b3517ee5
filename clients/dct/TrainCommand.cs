using System.CommandLine;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct train`: starts a training job, follows its progress and saves the learned token.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var request = new TrainingRequestOptions();
        var orchestrator = CliOptions.Orchestrator();
        var detach = new Option<bool>("--detach") { Description = "Print the job id and return at once; follow later with `dct watch`." };
        var output = new Option<string?>("--out") { Description = "Folder for learned_embeds.safetensors and token.json [$DCT_TOKENS_DIR/<job id>, else dct-tokens/<job id>]." };
        var command = new Command("train",
            "Learn a discriminative token for a class: the orchestrator generates images with the diffusion service, scores " +
            "them with the classifier service and optimizes the token's embedding. Prints every step; the job keeps running " +
            "on the orchestrator if you press Ctrl+C (follow it again with `dct watch <job id>`).");
        foreach (var symbol in request.Symbols)
        {
            if (symbol is Argument argument) command.Arguments.Add(argument);
            else command.Options.Add((Option)symbol);
        }
        command.Options.Add(orchestrator);
        command.Options.Add(detach);
        command.Options.Add(output);
        command.SetAction(async (result, cancellation) =>
        {
            StartTrainingRequest start;
            try
            {
                start = request.ToRequest(result);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            using var channel = DctChannel.Create(result.GetValue(orchestrator)!);
            var client = new OrchestratorService.OrchestratorServiceClient(channel);
            Job job;
            try
            {
                job = await client.StartTrainingAsync(start, deadline: DateTime.UtcNow.AddMinutes(2), cancellationToken: cancellation);
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"training refused: {e.StatusCode}: {e.Status.Detail}");
                return 2;
            }
            Console.WriteLine($"job {job.JobId}");
            if (result.GetValue(detach)) return 0;
            return await FollowAsync(client, job.JobId, result.GetValue(output) ?? TokenResultFiles.DefaultFolder(job.JobId), cancellation);
        });
        return command;
    }

    /// <summary>Watches a training job to its end and saves its token; exit code 0 only when it succeeded.</summary>
    public static async Task<int> FollowAsync(OrchestratorService.OrchestratorServiceClient client, string jobId, string folder,
                                              CancellationToken cancellation)
    {
        JobEvent terminal;
        try
        {
            terminal = await new JobWatcher(client, Console.Error).WatchAsync(jobId, 0, e => Console.WriteLine(JobEventFormatter.Format(e)), cancellation);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"stopped watching; job {jobId} keeps running (dct watch {jobId}, dct cancel {jobId}).");
            return 130;
        }
        catch (RpcException e)
        {
            Console.Error.WriteLine($"watching job {jobId} failed: {e.StatusCode}: {e.Status.Detail}");
            return 1;
        }
        if (terminal.EventCase != JobEvent.EventOneofCase.Finished) return 1;
        var trained = await client.GetTrainingResultAsync(new GetTrainingResultRequest { JobId = jobId },
            deadline: DateTime.UtcNow.AddMinutes(1), cancellationToken: cancellation);
        foreach (string path in TokenResultFiles.Write(trained, folder)) Console.WriteLine(path);
        return 0;
    }
}
