using System.CommandLine;

namespace DiscriminativeTokens.Cli;

/// <summary>Options several commands share: service addresses with environment-variable defaults.</summary>
public static class CliOptions
{
    public const string DefaultOrchestrator = "http://127.0.0.1:5100";

    public static Option<string> Address(string name, string environment, string fallback, string description) => new(name)
    {
        Description = $"{description} Default: ${environment} or {fallback}.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(environment) is { Length: > 0 } v ? v : fallback,
    };

    public static Option<string> Orchestrator() =>
        Address("--orchestrator", "DCT_ORCHESTRATOR", DefaultOrchestrator, "Orchestrator address.");
}
