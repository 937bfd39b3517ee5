using System.CommandLine;
using Grpc.Core;
using Grpc.Health.V1;
using DiscriminativeTokens.Contracts.Channels;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct status`: asks each service's gRPC health endpoint whether it is serving.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var orchestrator = CliOptions.Orchestrator();
        var diffusion = CliOptions.Address("--diffusion", "DCT_DIFFUSION", "http://127.0.0.1:5101", "Diffusion service address.");
        var classifier = CliOptions.Address("--classifier", "DCT_CLASSIFIER", "http://127.0.0.1:5102", "Classifier service address.");
        var wait = new Option<int>("--wait")
        {
            Description = "Keep asking for up to this many seconds until every service is serving (0 = ask once).",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("status", "Show whether the orchestrator, diffusion and classifier services are serving. " +
                                            "Exit code 0 when all are, 1 otherwise.")
        {
            orchestrator, diffusion, classifier, wait,
        };
        command.SetAction(async (result, cancellation) =>
        {
            var targets = new (string Name, string Address)[]
            {
                ("orchestrator", result.GetValue(orchestrator)!),
                ("diffusion", result.GetValue(diffusion)!),
                ("classifier", result.GetValue(classifier)!),
            };
            var deadline = DateTime.UtcNow.AddSeconds(Math.Max(0, result.GetValue(wait)));
            while (true)
            {
                var answers = await Task.WhenAll(targets.Select(t => CheckAsync(t.Address, cancellation)));
                bool allServing = answers.All(a => a.Serving);
                if (allServing || DateTime.UtcNow >= deadline)
                {
                    for (int i = 0; i < targets.Length; i++)
                        Console.WriteLine($"{targets[i].Name,-13} {targets[i].Address,-26} {answers[i].Text}");
                    return allServing ? 0 : 1;
                }
                await Task.Delay(500, cancellation);
            }
        });
        return command;
    }

    private static async Task<(bool Serving, string Text)> CheckAsync(string address, CancellationToken cancellation)
    {
        try
        {
            using var channel = DctChannel.Create(address);
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(),
                deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellation);
            bool serving = reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
            return (serving, serving ? "SERVING" : reply.Status.ToString().ToUpperInvariant());
        }
        catch (RpcException e)
        {
            return (false, $"unreachable ({e.StatusCode}: {e.Status.Detail})");
        }
        catch (ArgumentException)
        {
            return (false, $"not an address; use http://host:port");
        }
    }
}
