using DiscriminativeTokens.Orchestration.Downstream;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Training;
using DiscriminativeTokens.Orchestration.Validation;

namespace DiscriminativeTokens.Orchestrator;

/// <summary>
/// The orchestrator's settings (section "Orchestrator"):
/// DataDirectory — jobs.db and jobs/&lt;id&gt;/ artifacts [$XDG_DATA_HOME/dct/orchestrator, else
/// ~/.local/share/dct/orchestrator, so jobs do not depend on the working directory];
/// MaxConcurrentJobs [1]; Endpoints:Diffusion:&lt;name&gt; and Endpoints:Classifiers:&lt;name&gt; = address
/// [default = http://127.0.0.1:5101 and http://127.0.0.1:5102, as scripts/run-local.sh runs them];
/// AllowArbitraryAddresses [false]; ServiceProbeTimeout [00:00:10]; Retry:MaxRetryAttempts/BaseDelay/MaxDelay;
/// Downstream:InfoTimeout/ComputeTimeout/FailureRatio/MinimumThroughput/SamplingDuration/BreakDuration (per-call
/// deadlines and the circuit breaker per downstream service, see DownstreamOptions).
/// </summary>
public static class OrchestratorConfiguration
{
    public const string Section = "Orchestrator";

    public static JobManagerOptions Jobs(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        string? directory = section["DataDirectory"];
        int max = section.GetValue("MaxConcurrentJobs", 1);
        if (max < 1)
            throw new InvalidOperationException($"Orchestrator:MaxConcurrentJobs = {max}; it must be at least 1.");
        return new JobManagerOptions
        {
            DataDirectory = string.IsNullOrWhiteSpace(directory) ? DefaultDataDirectory() : Path.GetFullPath(directory),
            MaxConcurrentJobs = max,
        };
    }

    public static EndpointOptions Endpoints(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        return new EndpointOptions
        {
            Diffusion = Table(section.GetSection("Endpoints:Diffusion")),
            Classifiers = Table(section.GetSection("Endpoints:Classifiers")),
            AllowArbitraryAddresses = section.GetValue("AllowArbitraryAddresses", false),
        };
    }

    public static MicroStepRetryOptions Retry(IConfiguration configuration)
    {
        var options = new MicroStepRetryOptions();
        configuration.GetSection(Section).GetSection("Retry").Bind(options);
        return options;
    }

    public static DownstreamOptions Downstream(IConfiguration configuration)
    {
        var options = new DownstreamOptions();
        var section = configuration.GetSection(Section).GetSection("Downstream");
        return section.Exists() ? section.Get<DownstreamOptions>()!.Validated() : options;
    }

    public static ValidationOptions Validation(IConfiguration configuration) => new()
    {
        ServiceProbeTimeout = configuration.GetSection(Section).GetValue("ServiceProbeTimeout", TimeSpan.FromSeconds(10)),
    };

    public static string DefaultDataDirectory()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        string root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "dct", "orchestrator");
    }

    private static Dictionary<string, string> Table(IConfigurationSection section) =>
        section.GetChildren().Where(c => !string.IsNullOrWhiteSpace(c.Value)).ToDictionary(c => c.Key, c => c.Value!);
}
