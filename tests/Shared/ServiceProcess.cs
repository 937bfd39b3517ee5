using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace DiscriminativeTokens.Testing;

/// <summary>
/// A service started as its own process (dotnet Service.dll) on a free loopback port, as a user would run it. Disposing
/// sends SIGTERM and waits for a clean exit; <see cref="KillAsync"/> kills it without one.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Address { get; private set; } = "";
    public GrpcChannel Channel { get; private set; } = null!;
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>The operating system's id of the service process (e.g. to read its memory use from /proc).</summary>
    public int ProcessId => _process.Id;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    private ServiceProcess(Process process) => _process = process;

    /// <summary>Starts services/{folder}/Host's built assembly {name}.dll with the given extra arguments.</summary>
    public static Task<ServiceProcess> StartAsync(string folder, string name, params string[] arguments) =>
        StartAsync(folder, name, new Dictionary<string, string>(), arguments);

    /// <summary>As above, with extra environment variables for the process (e.g. OMP_NUM_THREADS).</summary>
    public static async Task<ServiceProcess> StartAsync(string folder, string name, IReadOnlyDictionary<string, string> environment,
                                                        params string[] arguments)
    {
        string dll = Path.Combine(RepositoryPaths.Root, "services", folder, "Host", "bin", BuildConfiguration, "net10.0", name + ".dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is not built; build the solution first.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var (key, value) in environment) start.Environment[key] = value;
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");
        foreach (string a in arguments) start.ArgumentList.Add(a);
        var service = new ServiceProcess(Process.Start(start)!);
        service._process.OutputDataReceived += (_, e) => service.OnLine(e.Data);
        service._process.ErrorDataReceived += (_, e) => service.OnLine(e.Data);
        service._process.BeginOutputReadLine();
        service._process.BeginErrorReadLine();

        var ready = await Task.WhenAny(service._listening.Task, Task.Delay(TimeSpan.FromSeconds(60)), service._process.WaitForExitAsync());
        if (ready != service._listening.Task)
        {
            string log = service.Output;
            await service.DisposeAsync();
            throw new InvalidOperationException($"{name} did not start listening. Output:\n{log}");
        }
        service.Address = service._listening.Task.Result;
        service.Channel = DiscriminativeTokens.Contracts.Channels.DctChannel.Create(service.Address);
        return service;
    }

    /// <summary>
    /// Polls the gRPC health service until it answers SERVING (services that load a model report NOT_SERVING until
    /// they have loaded it). Throws with the service's output when it does not within <paramref name="timeout"/>.
    /// </summary>
    public async Task WaitForServingAsync(TimeSpan? timeout = null)
    {
        var health = new Health.HealthClient(Channel);
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        var status = HealthCheckResponse.Types.ServingStatus.Unknown;
        while (DateTime.UtcNow < until && !_process.HasExited)
        {
            try
            {
                status = (await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Status;
                if (status == HealthCheckResponse.Types.ServingStatus.Serving) return;
            }
            catch (RpcException)
            {
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"The service did not report SERVING (last status {status}). Output:\n{Output}");
    }

    /// <summary><see cref="WaitForServingAsync"/>, disposing the process when it does not come up, so a failed start
    /// leaves nothing running.</summary>
    public async Task<ServiceProcess> ServingOrDisposedAsync(TimeSpan? timeout = null)
    {
        try
        {
            await WaitForServingAsync(timeout);
            return this;
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>A loopback port nothing listens on (just released by the OS), for a service restarted on it.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        var match = ListeningPattern().Match(line);
        if (match.Success) _listening.TrySetResult(match.Groups[1].Value);
    }

    /// <summary>Sends SIGTERM and waits for the process to exit; returns its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]))
                await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                throw new TimeoutException($"The service did not exit within {timeout} of SIGTERM. Output:\n{Output}");
            }
        }
        _process.WaitForExit(); // flush redirected output
        return _process.ExitCode;
    }

    /// <summary>
    /// Kills the process at once (SIGKILL): no graceful shutdown, nothing flushed, connections drop — as a crash or
    /// an out-of-memory kill would. Waits until it has exited.
    /// </summary>
    public async Task KillAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false); // SIGKILL on Unix
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(cts.Token);
        }
        _process.WaitForExit(); // flush redirected output
    }

    public async ValueTask DisposeAsync()
    {
        Channel?.Dispose();
        try
        {
            if (!_process.HasExited) await StopAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
        }
        _process.Dispose();
    }

    private static string BuildConfiguration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningPattern();
}
