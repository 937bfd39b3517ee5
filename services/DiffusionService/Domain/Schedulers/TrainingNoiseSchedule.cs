using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// The forward-process schedule a model was trained with: betas and their cumulative alpha products. Computed in
/// float32 with the same torch calls as diffusers (linspace, square, cumprod) so the values match it bit for bit, then
/// kept as plain arrays: schedulers read single values as scalars and hold no native tensors for them.
/// </summary>
public sealed class TrainingNoiseSchedule
{
    public IReadOnlyList<float> Betas { get; }

    /// <summary>alpha_bar_t = prod_{s &lt;= t} (1 − beta_s), float32 as upstream.</summary>
    public IReadOnlyList<float> AlphasCumprod { get; }

    public TrainingNoiseSchedule(SchedulerOptions options)
    {
        using var scope = NewDisposeScope();
        int count = options.NumTrainTimesteps;
        Tensor betas = options.TrainedBetas is { } trained
            ? tensor(trained.ToArray(), dtype: ScalarType.Float64).to(ScalarType.Float32)
            : options.BetaSchedule switch
            {
                BetaSchedule.Linear => linspace(options.BetaStart, options.BetaEnd, count, dtype: ScalarType.Float32),
                BetaSchedule.ScaledLinear => linspace(Math.Sqrt(options.BetaStart), Math.Sqrt(options.BetaEnd), count,
                                                      dtype: ScalarType.Float32).Pow(2L),
                _ => throw new ArgumentOutOfRangeException(nameof(options), options.BetaSchedule, "unknown beta schedule"),
            };
        Tensor alphasCumprod = betas.SubtractedFrom(1L).cumprod(0);
        Betas = betas.data<float>().ToArray();
        AlphasCumprod = alphasCumprod.data<float>().ToArray();
    }
}
