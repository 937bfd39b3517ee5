using System.Diagnostics;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Tests.Services.Classifier;

namespace DiscriminativeTokens.Tests.Services;

/// <summary>
/// The contracts compile with Debian's protoc 3.21 and the generated Python stubs talk to a .NET service, so callers in
/// Python (for example a user's own classifier service) can use the .proto files alone.
/// Needs: protobuf-compiler, protobuf-compiler-grpc, python3-grpcio, python3-protobuf, python3-numpy (.ci/run installs them).
/// </summary>
public class PythonContractTests
{
    [Fact]
    public async Task GeneratedPythonStubsRoundTripAndReachARunningService()
    {
        string python = Path.Combine(RepositoryPaths.Root, "clients", "python");
        var (generateCode, generateOutput) = await RunAsync("bash", Path.Combine(python, "generate_stubs.sh"));
        Assert.True(generateCode == 0, "generate_stubs.sh failed (install protobuf-compiler and protobuf-compiler-grpc):\n" + generateOutput);
        Assert.Contains("generated 9 modules", generateOutput);

        await using var service = await ServiceProcess.StartAsync("ClassifierService", "ClassifierService", TinyClassifier.ServiceArguments);
        await service.WaitForServingAsync();
        var (code, output) = await RunAsync("/usr/bin/python3", Path.Combine(python, "tests", "contract_smoke.py"), service.Address);
        Assert.True(code == 0, "contract_smoke.py failed (install python3-grpcio python3-protobuf python3-numpy):\n" + output);
        Assert.Contains("python contract smoke: ok", output);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
