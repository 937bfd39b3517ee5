using System.CommandLine;
using DiscriminativeTokens.Cli;

var root = new RootCommand(
    "dct — Discriminative Tokens: teach a text-to-image diffusion model a new word from a classifier.\n" +
    "Talks to the orchestrator, diffusion and classifier services over gRPC.");
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
return await root.Parse(args).InvokeAsync();
