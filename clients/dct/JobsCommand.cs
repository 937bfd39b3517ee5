using System.CommandLine;
using System.Globalization;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct jobs`: lists jobs, newest first, or shows one.</summary>
public static class JobsCommand
{
    public static Command Create()
    {
        var jobId = new Argument<string?>("job-id") { Description = "Show this job in detail instead of listing.", Arity = ArgumentArity.ZeroOrOne };
        var states = new Option<string[]>("--state") { Description = "Only jobs in this state (queued, running, succeeded, failed, cancelled); repeatable." };
        var limit = new Option<int>("--limit") { Description = "At most this many jobs.", DefaultValueFactory = _ => 50 };
        var orchestrator = CliOptions.Orchestrator();
        var command = new Command("jobs", "List the orchestrator's jobs, newest first, or show one job.") { jobId, states, limit, orchestrator };
        command.SetAction(async (result, cancellation) =>
        {
            using var channel = DctChannel.Create(result.GetValue(orchestrator)!);
            var client = new OrchestratorService.OrchestratorServiceClient(channel);
            try
            {
                if (result.GetValue(jobId) is { Length: > 0 } id)
                {
                    var job = await client.GetJobAsync(new GetJobRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                    Console.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(job));
                    return 0;
                }
                var request = new ListJobsRequest { PageSize = result.GetValue(limit) };
                foreach (string state in result.GetValue(states) ?? [])
                    request.States.Add(StateOf(state));
                var reply = await client.ListJobsAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                Console.WriteLine($"{"JOB",-36} {"KIND",-10} {"STATE",-10} {"EPOCHS",6} {"BEST LOSS",10} {"ACCURACY",8}  CREATED  NAME");
                foreach (var job in reply.Jobs)
                    Console.WriteLine(Row(job));
                return 0;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"jobs failed: {e.StatusCode}: {e.Status.Detail}");
                return 1;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
        });
        return command;
    }

    public static string Row(Job job)
    {
        string kind = job.Kind.ToString().ToLowerInvariant();
        string state = job.State.ToString().ToLowerInvariant();
        string created = job.CreatedAt?.ToDateTime().ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "";
        return $"{job.JobId,-36} {kind,-10} {state,-10} {job.EpochsCompleted,6} {job.BestLoss.ToString("G4", CultureInfo.InvariantCulture),10} " +
               $"{job.LastAccuracy.ToString("P0", CultureInfo.InvariantCulture),8}  {created}  {job.DisplayName}";
    }

    public static JobState StateOf(string text) => text.ToLowerInvariant() switch
    {
        "queued" => JobState.Queued,
        "running" => JobState.Running,
        "succeeded" => JobState.Succeeded,
        "failed" => JobState.Failed,
        "cancelled" or "canceled" => JobState.Cancelled,
        _ => throw new ArgumentException($"--state '{text}' is not one of: queued, running, succeeded, failed, cancelled."),
    };
}
