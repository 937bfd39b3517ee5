using System.Globalization;
using System.Runtime;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>One line of context for the figures: they depend heavily on cores, load and GC mode.</summary>
internal static class HostInfo
{
    public static string Describe()
    {
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
        var gc = GCSettings.IsServerGC ? "server" : "workstation";
        var gcSettings = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("DOTNET_GC", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}");
        var tuning = string.Join(" ", gcSettings);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"Host: {Environment.ProcessorCount} cores, load average {load} at start, {gc} GC{(tuning.Length > 0 ? " " + tuning : "")}, .NET {Environment.Version}");
    }
}
