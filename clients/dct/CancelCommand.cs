using System.CommandLine;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct cancel`: cancels a queued or running job.</summary>
public static class CancelCommand
{
    public static Command Create()
    {
        var jobId = new Argument<string>("job-id") { Description = "The job to cancel." };
        var orchestrator = CliOptions.Orchestrator();
        var command = new Command("cancel", "Cancel a queued or running job (an ended job is left as it is).") { jobId, orchestrator };
        command.SetAction(async (result, cancellation) =>
        {
            using var channel = DctChannel.Create(result.GetValue(orchestrator)!);
            var client = new OrchestratorService.OrchestratorServiceClient(channel);
            try
            {
                var job = await client.CancelJobAsync(new CancelJobRequest { JobId = result.GetValue(jobId)! },
                    deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                Console.WriteLine(JobsCommand.Row(job));
                return 0;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"cancel failed: {e.StatusCode}: {e.Status.Detail}");
                return 1;
            }
        });
        return command;
    }
}
