using System.CommandLine;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct watch`: follows a job's events to its end, re-attaching after disconnects.</summary>
public static class WatchCommand
{
    public static Command Create()
    {
        var jobId = new Argument<string>("job-id") { Description = "The job to follow." };
        var after = new Option<ulong>("--after") { Description = "Show only events after this sequence number (0 = all).", DefaultValueFactory = _ => 0 };
        var orchestrator = CliOptions.Orchestrator();
        var command = new Command("watch", "Print a job's events from the beginning (or after --after) until it ends. " +
                                           "Exit code 0 when the job succeeded.") { jobId, after, orchestrator };
        command.SetAction(async (result, cancellation) =>
        {
            using var channel = DctChannel.Create(result.GetValue(orchestrator)!);
            var client = new OrchestratorService.OrchestratorServiceClient(channel);
            try
            {
                var terminal = await new JobWatcher(client, Console.Error).WatchAsync(result.GetValue(jobId)!, result.GetValue(after),
                    e => Console.WriteLine(JobEventFormatter.Format(e)), cancellation);
                return terminal.EventCase == JobEvent.EventOneofCase.Finished ? 0 : 1;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"watch failed: {e.StatusCode}: {e.Status.Detail}");
                return 1;
            }
            catch (OperationCanceledException)
            {
                return 130;
            }
        });
        return command;
    }
}
