using System.CommandLine;
using DiscriminativeTokens.Cli;

var root = new RootCommand(
    "dct — Discriminative Tokens: teach a text-to-image diffusion model a new word from a classifier.\n" +
    "Talks to the orchestrator, diffusion and classifier services over gRPC.");
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(WatchCommand.Create());
root.Subcommands.Add(JobsCommand.Create());
root.Subcommands.Add(CancelCommand.Create());
root.Subcommands.Add(ResultCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(EndpointsCommand.Create());
return await root.Parse(args).InvokeAsync();
