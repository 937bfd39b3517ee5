using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>AutoencoderKL decode and posterior from reference/vae.safetensors.</summary>
public sealed class VaeCheck : ParityCheck
{
    public override string Component => "vae";

    public override string Description =>
        "decode of latent/scaling_factor and of the unscaled latent, the [0,1] image, and the encoder posterior " +
        "mean/logvar/std";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("vae.safetensors");
        var vae = fixture.Model.Vae;
        // decode() leaves the scaling to its caller, as diffusers' does.
        yield return Compare(file, "decoder_input", Tolerance.Forward, () => file.Read("latent") / vae.ScalingFactor);
        yield return Compare(file, "decoded", Tolerance.Forward, () => vae.Decode(file.Read("decoder_input")));
        yield return Compare(file, "decoded_image01", Tolerance.Forward,
                             () => (vae.Decode(file.Read("latent") / vae.ScalingFactor) / 2 + 0.5).clamp(0, 1));
        yield return Compare(file, "decoded_raw_noscale", Tolerance.Forward, () => vae.Decode(file.Read("latent")));

        foreach (string name in new[] { "posterior_mean", "posterior_logvar", "posterior_std", "posterior_mean_scaled" })
            yield return Compare(file, name, Tolerance.Forward, () =>
            {
                using var posterior = vae.Encode(file.Read("image"));
                Tensor result = name switch
                {
                    "posterior_mean" => posterior.Mean.clone(),
                    "posterior_logvar" => posterior.LogVar.clone(),
                    "posterior_std" => posterior.Std.clone(),
                    _ => posterior.Mean * vae.ScalingFactor,
                };
                return result;
            });
    }
}
