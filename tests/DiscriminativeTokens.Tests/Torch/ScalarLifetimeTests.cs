using DiscriminativeTokens.Testing;

namespace DiscriminativeTokens.Tests.Torch;

/// <summary>
/// TorchSharp 0.107 passes a <c>Scalar</c>'s native handle to libtorch without keeping the managed object alive, and
/// frees the native value in the object's finalizer. A Scalar made on the fly (<c>tensor * 0.5</c>, <c>x.pow(2)</c>,
/// <c>clamp(x, -1, 1)</c>) is therefore garbage the moment its handle is read: a collection triggered by another thread
/// during the native call lets the finalizer free the value libtorch is about to read. Seen in the DiffusionService
/// with a backward running beside a forward: "Unknown scalar type" from at::native::div. Our code makes every Scalar
/// through <c>DiscriminativeTokens.Torch.Scalars</c>, which keeps it alive through the call and frees it at once.
/// This test reads the IL of every product assembly and fails on any other way to a temporary Scalar.
/// </summary>
public sealed class ScalarLifetimeTests
{
    // The one place allowed to create Scalars: it holds each one for the duration of the native call.
    private const string SafeHelper = "DiscriminativeTokens.Torch.Scalars";

    // TorchSharp types whose Scalar-making methods product code runs only where no garbage collection can happen
    // (DiscriminativeTokens.Torch.NoCollection): TokenOptimizer steps AdamW inside such a region.
    private static readonly HashSet<string> GuardedTypes = new(StringComparer.Ordinal) { "TorchSharp.Modules.AdamW" };

    [Fact]
    public void Product_code_makes_no_temporary_scalars()
    {
        var unsafeTorchSharp = UnsafeTorchSharpMethods();
        Assert.Contains("TorchSharp.torch/Tensor::op_Division(TorchSharp.torch/Tensor,Double)", unsafeTorchSharp);   // the crash seen

        var offences = new List<string>();
        var assemblies = ProductAssemblies().ToList();
        Assert.Contains(assemblies, a => Path.GetFileName(a) == "DiscriminativeTokens.Diffusion.dll");
        Assert.Contains(assemblies, a => Path.GetFileName(a) == "DiscriminativeTokens.Orchestration.dll");
        foreach (string assembly in assemblies)
            foreach (var (caller, callees) in IlCalls.Read(assembly).Calls)
            {
                // The helper makes Scalars itself (and holds them); it must not call anything that makes another.
                bool helper = caller.StartsWith(SafeHelper + "::", StringComparison.Ordinal);
                foreach (string callee in callees.Where(c => unsafeTorchSharp.Contains(c) && !(helper && IsScalarFactory(c))).Distinct())
                    offences.Add($"{Path.GetFileName(assembly)}: {caller} calls {callee}");
            }
        // Virtual calls (Module.forward, Optimizer.step) name the base method: check the TorchSharp module and
        // optimizer types product code uses for any method that makes Scalars, unless the code guards that type.
        foreach (string assembly in assemblies)
            foreach (string type in IlCalls.Read(assembly).ReferencedTypes.Where(t => t.StartsWith("TorchSharp.Modules.", StringComparison.Ordinal)))
            {
                if (GuardedTypes.Contains(type)) continue;
                foreach (string method in unsafeTorchSharp.Where(m => m.StartsWith(type + "::", StringComparison.Ordinal)).Order())
                    offences.Add($"{Path.GetFileName(assembly)}: uses {type}, whose {method} makes Scalars");
            }
        var orchestration = IlCalls.Read(assemblies.Single(a => Path.GetFileName(a) == "DiscriminativeTokens.Orchestration.dll")).Calls;
        Assert.Contains(orchestration, m => m.Key.StartsWith("DiscriminativeTokens.Orchestration.Training.TokenOptimizer::Step(", StringComparison.Ordinal)
                                            && m.Value.Any(c => c.StartsWith("DiscriminativeTokens.Torch.NoCollection::Run(", StringComparison.Ordinal)));
        Assert.True(offences.Count == 0,
            $"{offences.Count} call(s) make a Scalar that can be freed while libtorch reads it; use DiscriminativeTokens.Torch.Scalars:\n" +
            string.Join("\n", offences.Order()));
    }

    /// <summary>
    /// TorchSharp methods that create a Scalar and drop it (its implicit conversions, ToScalar, and every TorchSharp
    /// method that calls one of these, transitively).
    /// </summary>
    private static HashSet<string> UnsafeTorchSharpMethods()
    {
        string torchSharp = typeof(TorchSharp.torch).Assembly.Location;
        var calls = IlCalls.Read(torchSharp).Calls;
        var result = new HashSet<string>(calls.Keys.Where(IsScalarFactory));
        bool grew = true;
        while (grew)
        {
            grew = false;
            foreach (var (caller, callees) in calls)
                if (!result.Contains(caller) && callees.Any(result.Contains))
                    grew |= result.Add(caller);
        }
        return result;
    }

    private static bool IsScalarFactory(string method) =>
        method.StartsWith("TorchSharp.Scalar::op_Implicit(", StringComparison.Ordinal) ||
        method.StartsWith("TorchSharp.ScalarExtensionMethods::ToScalar(", StringComparison.Ordinal) ||
        method == "TorchSharp.torch/Tensor::ToScalar()";

    /// <summary>The repository's own assemblies as the services, the CLI and this test run them.</summary>
    private static IEnumerable<string> ProductAssemblies()
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var folders = new[]
        {
            AppContext.BaseDirectory,
            Path.Combine(RepositoryPaths.Root, "services", "DiffusionService", "Host", "bin", configuration, "net10.0"),
            Path.Combine(RepositoryPaths.Root, "services", "ClassifierService", "Host", "bin", configuration, "net10.0"),
            Path.Combine(RepositoryPaths.Root, "services", "Orchestrator", "Host", "bin", configuration, "net10.0"),
        };
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (string folder in folders)
            foreach (string dll in Directory.EnumerateFiles(folder, "*.dll"))
            {
                string name = Path.GetFileName(dll);
                bool ours = name.StartsWith("DiscriminativeTokens.", StringComparison.Ordinal) && !name.EndsWith(".Tests.dll", StringComparison.Ordinal)
                            || name is "DiffusionService.dll" or "ClassifierService.dll" or "Orchestrator.dll";
                if (ours && names.Add(name)) yield return dll;
            }
    }
}
