using System.Diagnostics;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Tools;

/// <summary>The dct-parity command run as a process on the sd-tiny fixture (and on doctored copies of it).</summary>
public sealed class ParityCommandTests(ITestOutputHelper output)
{
    private static readonly string[] Components =
        ["tokenizer", "text_encoder", "unet", "vae", "schedulers", "pipeline", "vit", "dct_classifier"];

    private sealed record Run(int ExitCode, string Output, string Error)
    {
        /// <summary>Report rows whose first column is <paramref name="component"/>.</summary>
        public string[] Rows(string component) =>
            Output.Split('\n').Where(l => l.Split(' ', 2)[0] == component).ToArray();
    }

    private static string ToolDll =>
        Path.Combine(RepositoryPaths.Root, "tools", "DiscriminativeTokens.Parity", "bin", BuildConfiguration, "net10.0", "dct-parity.dll");

    private static string BuildConfiguration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    private async Task<Run> RunToolAsync(params string[] arguments)
    {
        Assert.True(File.Exists(ToolDll), $"{ToolDll} is not built; build the solution first.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ToolDll);
        foreach (string a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20)); // a hang guard, not a speed check: busy CI machines are slow
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dct-parity {string.Join(" ", arguments)} did not finish within 20 minutes.");
        }
        var run = new Run(process.ExitCode, await stdout, await stderr);
        output.WriteLine($"$ dct-parity {string.Join(" ", arguments)}  (exit {run.ExitCode})");
        output.WriteLine(run.Output);
        return run;
    }

    [Fact]
    public async Task TheFixtureIsWithinToleranceForEveryComponent()
    {
        var run = await RunToolAsync(RepositoryPaths.SdTiny);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.Output}\n{run.Error}");
        foreach (string component in Components)
        {
            string[] rows = run.Rows(component);
            Assert.True(rows.Length > 0, $"no row for {component}");
            Assert.All(rows, row => Assert.EndsWith("OK", row.TrimEnd()));
        }
        // A few rows the task names explicitly.
        Assert.Contains(run.Rows("unet"), r => r.Contains("out_t501_textcond"));
        Assert.Contains(run.Rows("text_encoder"), r => r.Contains("added/last_hidden_state"));
        Assert.Contains(run.Rows("schedulers"), r => r.Contains("dpmpp2m/n30/sigmas"));
        Assert.Contains(run.Rows("pipeline"), r => r.Contains("guided_noise_preds"));
        Assert.Equal(10, run.Rows("schedulers").Count(r => r.Contains("/prev_samples")));
        Assert.Contains(run.Rows("vit"), r => r.Contains("grad_logit_wrt_raw_image"));
        Assert.Contains(run.Rows("vit"), r => r.Contains("inet/pixel_values"));
        Assert.Contains(run.Rows("dct_classifier"), r => r.Contains("conv/partial/grad_image"));
        Assert.Contains(run.Rows("dct_classifier"), r => r.Contains("vit/loss"));
        Assert.Contains("tolerances used (limit on max abs err): ", run.Output);
        Assert.Contains("1e-3*max|ref|", run.Output);
        Assert.Matches(@"summary: (\d+) tensors compared, \1 OK, 0 FAIL", run.Output);
    }

    [Fact]
    public async Task ACorruptedReferenceTensorFailsThatRowAndExitsWithOne()
    {
        string copy = CopyFixture();
        try
        {
            // Shift one element of the posterior std by 0.01: far beyond 1e-4 * max(1, max|ref|).
            string path = Path.Combine(copy, "reference", "vae.safetensors");
            var tensors = new List<KeyValuePair<string, Tensor>>();
            Dictionary<string, string> metadata;
            using (var file = new SafetensorsFile(path))
            {
                metadata = file.Metadata.ToDictionary();
                foreach (string name in file.Entries.Keys)
                    tensors.Add(new(name, file.Read(name)));
            }
            var std = tensors.Single(t => t.Key == "posterior_std").Value;
            std.view(-1)[17] += 0.01f;
            SafetensorsWriter.Write(path, tensors, metadata);
            foreach (var (_, tensor) in tensors) tensor.Dispose();

            var run = await RunToolAsync(copy, "--only", "vae");
            Assert.Equal(1, run.ExitCode);
            string[] rows = run.Rows("vae");
            Assert.Contains(rows, r => r.Contains("posterior_std") && r.TrimEnd().EndsWith("FAIL"));
            Assert.All(rows.Where(r => !r.Contains("posterior_std")), r => Assert.EndsWith("OK", r.TrimEnd()));
            Assert.Contains("1 FAIL", run.Output);
            Assert.Empty(Components.Where(c => c != "vae").SelectMany(run.Rows));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task AGradientOffByOnePercentOfItsScaleFails()
    {
        string copy = CopyFixture();
        try
        {
            // 1e-2 * max|grad| on one element: ten times the gradient tolerance of 1e-3 * max|ref|, although far below 1.
            string path = Path.Combine(copy, "reference", "dct.safetensors");
            var tensors = new List<KeyValuePair<string, Tensor>>();
            Dictionary<string, string> metadata;
            using (var file = new SafetensorsFile(path))
            {
                metadata = file.Metadata.ToDictionary();
                foreach (string name in file.Entries.Keys)
                    tensors.Add(new(name, file.Read(name)));
            }
            var gradient = tensors.Single(t => t.Key == "vit/partial/grad_image").Value;
            float scale = gradient.abs().max().item<float>();
            gradient.view(-1)[5] += 0.01f * scale;
            SafetensorsWriter.Write(path, tensors, metadata);
            foreach (var (_, tensor) in tensors) tensor.Dispose();

            var run = await RunToolAsync(copy, "--only", "dct_classifier");
            Assert.Equal(1, run.ExitCode);
            string[] rows = run.Rows("dct_classifier");
            Assert.Contains(rows, r => r.Contains("vit/partial/grad_image") && r.TrimEnd().EndsWith("FAIL"));
            Assert.Single(rows, r => r.TrimEnd().EndsWith("FAIL"));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task AMissingReferenceFileIsALoadingError()
    {
        string copy = CopyFixture();
        try
        {
            File.Delete(Path.Combine(copy, "reference", "unet.safetensors"));
            var run = await RunToolAsync(copy, "--only", "unet");
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("unet.safetensors", run.Error);
            Assert.Contains("missing", run.Error);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task UsageErrorsExitWithTwoAndHelpExplains()
    {
        var help = await RunToolAsync("--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Usage: dct-parity <fixture-folder>", help.Output);
        Assert.All(Components, c => Assert.Contains(c, help.Output));

        var none = await RunToolAsync();
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("fixture folder", none.Error);

        var unknown = await RunToolAsync(RepositoryPaths.SdTiny, "--only", "unet,classifier");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("'classifier'", unknown.Error);

        var missing = await RunToolAsync(Path.Combine(Path.GetTempPath(), $"no-such-fixture-{Guid.NewGuid():N}"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error);
    }

    /// <summary>A temporary copy of the sd-tiny fixture (model folders and reference files).</summary>
    private static string CopyFixture()
    {
        string target = Path.Combine(Path.GetTempPath(), $"dct-parity-fixture-{Guid.NewGuid():N}");
        foreach (string file in Directory.EnumerateFiles(RepositoryPaths.SdTiny, "*", SearchOption.AllDirectories))
        {
            string destination = Path.Combine(target, Path.GetRelativePath(RepositoryPaths.SdTiny, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
        return target;
    }
}
