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
        // Memory and threading settings from the environment change these figures severalfold; show any in effect.
        var settings = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("DOTNET_GC", StringComparison.OrdinalIgnoreCase)
                || k.StartsWith("OMP_", StringComparison.Ordinal)
                || k.StartsWith("MALLOC_", StringComparison.Ordinal)
                || k == "GLIBC_TUNABLES")
            .Order(StringComparer.Ordinal)
            .Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}");
        var tuning = string.Join(" ", settings);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"Host: {Environment.ProcessorCount} cores, load average {load} at start, {gc} GC{(tuning.Length > 0 ? " " + tuning : "")}, .NET {Environment.Version}");
    }
}
