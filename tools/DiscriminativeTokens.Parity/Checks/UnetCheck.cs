using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>UNet2DConditionModel outputs from reference/unet.safetensors for every timestep form.</summary>
public sealed class UnetCheck : ParityCheck
{
    public override string Component => "unet";

    public override string Description =>
        "noise predictions at t=981, t=1, per-sample [500, 20], fractional [333.25, 0.5], and at 501 conditioned on " +
        "the reference text-encoder states of prompts 0 and 2";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("unet.safetensors");
        var unet = fixture.Model.Unet;
        Tensor Predict(Func<Tensor> timestep, Func<Tensor>? context = null) =>
            unet.forward(file.Read("sample"), timestep(), context is null ? file.Read("encoder_hidden_states") : context());

        yield return Compare(file, "out_t981", Tolerance.Forward, () => Predict(() => tensor(981L)));
        yield return Compare(file, "out_t1", Tolerance.Forward, () => Predict(() => tensor(1L)));
        yield return Compare(file, "out_t500_20", Tolerance.Forward, () => Predict(() => tensor(new long[] { 500, 20 })));
        yield return Compare(file, "out_t333_25f", Tolerance.Forward, () => Predict(() => tensor(new[] { 333.25f, 0.5f })));

        // Real text conditioning, taken from the text encoder's reference so this row tests the UNet alone.
        var text = fixture.Reference("text_encoder.safetensors");
        yield return Compare(file, "out_t501_textcond", Tolerance.Forward, () =>
            Predict(() => tensor(501L), () => text.Read("last_hidden_state").index_select(0, tensor(new long[] { 0, 2 }))));
    }
}
