using System.CommandLine;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct endpoints`: the named diffusion and classifier services jobs may use.</summary>
public static class EndpointsCommand
{
    public static Command Create()
    {
        var orchestrator = CliOptions.Orchestrator();
        var command = new Command("endpoints", "List the diffusion and classifier endpoints configured on the orchestrator " +
                                               "(names for --diffusion-endpoint and --classifier-endpoint).") { orchestrator };
        command.SetAction(async (result, cancellation) =>
        {
            using var channel = DctChannel.Create(result.GetValue(orchestrator)!);
            var client = new OrchestratorService.OrchestratorServiceClient(channel);
            try
            {
                var reply = await client.ListEndpointsAsync(new ListEndpointsRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                foreach (var e in reply.Diffusion) Console.WriteLine($"diffusion   {e.Name,-20} {e.Address}");
                foreach (var e in reply.Classifiers) Console.WriteLine($"classifier  {e.Name,-20} {e.Address}");
                Console.WriteLine($"arbitrary addresses {(reply.ArbitraryAddressesAllowed ? "allowed" : "not allowed")}");
                return 0;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"endpoints failed: {e.StatusCode}: {e.Status.Detail}");
                return 1;
            }
        });
        return command;
    }
}
