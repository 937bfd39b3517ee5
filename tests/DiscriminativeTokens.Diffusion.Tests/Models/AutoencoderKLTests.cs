using DiscriminativeTokens.Diffusion.Models.Autoencoder;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

/// <summary>
/// AutoencoderKL against diffusers 0.27.2 (reference/vae.safetensors). Tolerance for every forward tensor:
/// max abs error &lt;= 1e-4 · max(1, max |reference|).
/// </summary>
public sealed class AutoencoderKLTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(RepositoryPaths.SdTiny, "vae");

    [Fact]
    public void DecodeMatchesDiffusers()
    {
        using var vae = AutoencoderKL.Load(Folder, CPU);
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("vae.safetensors"));
        using var input = reference.Read("decoder_input");
        using var expected = reference.Read("decoded");
        using var _ = no_grad();
        using var decoded = vae.Decode(input);
        Parity.AssertClose(decoded, expected, "decoded", output);
    }

    [Fact]
    public void ScalingIsLeftToTheCaller()
    {
        using var vae = AutoencoderKL.Load(Folder, CPU);
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("vae.safetensors"));
        Assert.Equal(double.Parse(reference.Metadata["scaling_factor"], System.Globalization.CultureInfo.InvariantCulture),
                     vae.ScalingFactor);
        using var latent = reference.Read("latent");
        using var _ = no_grad();
        using var scaled = vae.Decode(latent / vae.ScalingFactor);
        Parity.AssertClose(scaled, reference.Read("decoded"), "decode(latent / scaling_factor)", output);
        using var raw = vae.Decode(latent);
        Parity.AssertClose(raw, reference.Read("decoded_raw_noscale"), "decoded_raw_noscale", output);
    }

    [Fact]
    public void PosteriorMatchesDiffusers()
    {
        using var vae = AutoencoderKL.Load(Folder, CPU);
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("vae.safetensors"));
        using var image = reference.Read("image");
        using var _ = no_grad();
        using var posterior = vae.Encode(image);
        Parity.AssertClose(posterior.Mean, reference.Read("posterior_mean"), "posterior_mean", output);
        Parity.AssertClose(posterior.LogVar, reference.Read("posterior_logvar"), "posterior_logvar", output);
        Parity.AssertClose(posterior.Std, reference.Read("posterior_std"), "posterior_std", output);
        Assert.Equal(new long[] { 1, 4, 16, 16 }, posterior.Mean.shape);
        Assert.Equal(2, vae.SpatialScale);
    }

    [Fact]
    public void LogVarianceIsClamped()
    {
        using var moments = cat([zeros(1, 4, 2, 2), full(1, 2, 2, 2, -100f), full(1, 2, 2, 2, 100f)], 1);
        using var posterior = new DiagonalGaussianDistribution(moments);
        Assert.Equal(-30f, posterior.LogVar.min().item<float>());
        Assert.Equal(20f, posterior.LogVar.max().item<float>());
        Assert.Equal(MathF.Exp(-15f), posterior.Std.min().item<float>(), 1e-12f);
    }

    [Fact]
    public void UnloadedGroupNormsStartAsIdentityAffine()
    {
        // TorchSharp leaves GroupNorm affine parameters uninitialized; a freshly built model must still be finite.
        var config = AutoencoderKLConfig.FromFile(Path.Combine(Folder, "config.json"));
        using var vae = new AutoencoderKL(config);
        foreach (var (name, parameter) in vae.named_parameters())
            if (name.Contains("norm"))
                Assert.True(name.EndsWith(".weight") ? parameter.eq(1).all().item<bool>() : parameter.eq(0).all().item<bool>(), name);
        using var _ = no_grad();
        using var image = randn(1, 3, 32, 32);
        using var reconstructed = vae.forward(image);
        Assert.True(reconstructed.isfinite().all().item<bool>());
    }

    [Fact]
    public void ParameterNamesAreTheDiffusersStateDict()
    {
        using var vae = AutoencoderKL.Load(Folder, CPU);
        using var weights = new SafetensorsFile(Path.Combine(Folder, "diffusion_pytorch_model.safetensors"));
        Assert.Equal(weights.Entries.Keys.Order(StringComparer.Ordinal), vae.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.All(vae.parameters(), p => Assert.False(p.requires_grad));
    }
}
