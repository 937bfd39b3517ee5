using DiscriminativeTokens.Diffusion.Models.Unet;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

/// <summary>The sd-tiny UNet fixture and the forward-tensor tolerance the UNet tests share.</summary>
internal static class UnetTestSupport
{
    /// <summary>Forward tensors: max abs error &lt;= 1e-4 * max(1, max |reference|).</summary>
    public const double RelativeTolerance = 1e-4;

    public static string UnetFolder => Path.Combine(RepositoryPaths.SdTiny, "unet");

    public static SafetensorsFile OpenReference() => new(RepositoryPaths.SdTinyReference("unet.safetensors"));

    /// <summary>Asserts the max abs error is within the tolerance; returns a one-line summary for the test log.</summary>
    public static string AssertClose(Tensor actual, Tensor expected, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = Math.Max(1.0, expected.abs().max().item<float>());
        double error = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        double bound = RelativeTolerance * scale;
        Assert.True(error <= bound, $"{what}: max abs error {error:E3} exceeds {bound:E3} (1e-4 * max(1, {scale:G4})).");
        return $"{what}: max abs error {error:E3} (bound {bound:E3}, max |reference| {scale:G4})";
    }

    /// <summary>The sd-tiny config with a few fields replaced (raw JSON values), as config.json text.</summary>
    public static string SdTinyConfigWith(params (string Field, string Json)[] changes)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(UnetFolder, "config.json")))!.AsObject();
        foreach (var (field, json) in changes)
            root[field] = System.Text.Json.Nodes.JsonNode.Parse(json);
        return root.ToJsonString();
    }

    public static UNet2DConditionConfig SdTinyConfig() => UNet2DConditionConfig.FromFile(Path.Combine(UnetFolder, "config.json"));
}
