using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// Denoising diffusion implicit models (Song et al. 2021), as diffusers' DDIMScheduler: one model call per step,
/// no history. With eta &gt; 0 each step adds fresh noise drawn from the generator passed to <see cref="Scheduler.Step"/>.
/// </summary>
public sealed class DdimScheduler : Scheduler
{
    private readonly double _finalAlphaCumprod;

    public DdimScheduler(DdimOptions options) : base(options)
    {
        DdimOptions = options;
        _finalAlphaCumprod = options.SetAlphaToOne ? 1.0 : AlphasCumprod[0];
    }

    public DdimOptions DdimOptions { get; }

    protected override Scheduler CreateFresh() => new DdimScheduler(DdimOptions);

    protected override double[] ComputeTimesteps(int steps)
    {
        int train = Options.NumTrainTimesteps;
        IEnumerable<long> descending = Options.TimestepSpacing switch
        {
            TimestepSpacing.Linspace => NumpyCompat.Linspace(0, train - 1, steps).Select(v => (long)NumpyCompat.Round(v)).Reverse(),
            TimestepSpacing.Leading => Enumerable.Range(0, steps).Select(i => (long)i * (train / steps) + Options.StepsOffset).Reverse(),
            TimestepSpacing.Trailing => NumpyCompat.Arange(train, 0, -(double)train / steps).Select(v => (long)NumpyCompat.Round(v) - 1),
            _ => throw new InvalidOperationException(),
        };
        return descending.Select(t => (double)t).ToArray();
    }

    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        int timestep = (int)Timesteps[stepIndex];
        // Upstream steps back by the "leading" stride whatever the spacing.
        int previousTimestep = timestep - Options.NumTrainTimesteps / InferenceSteps;
        double alpha = AlphaCumprod(timestep);
        double alphaPrevious = previousTimestep >= 0 ? AlphaCumprod(previousTimestep) : _finalAlphaCumprod;
        double beta = 1 - alpha;

        Tensor predictedOriginal, predictedNoise;
        switch (Options.PredictionType)
        {
            case PredictionType.Epsilon:
                predictedOriginal = (sample - modelOutput.Times(Math.Sqrt(beta))).DividedBy(Math.Sqrt(alpha));
                predictedNoise = modelOutput;
                break;
            case PredictionType.Sample:
                predictedOriginal = modelOutput;
                predictedNoise = (sample - predictedOriginal.Times(Math.Sqrt(alpha))).DividedBy(Math.Sqrt(beta));
                break;
            default:
                predictedOriginal = sample.Times(Math.Sqrt(alpha)) - modelOutput.Times(Math.Sqrt(beta));
                predictedNoise = modelOutput.Times(Math.Sqrt(alpha)).Plus(sample.Times(Math.Sqrt(beta)));
                break;
        }

        if (DdimOptions.ClipSample)
            predictedOriginal = predictedOriginal.Clamped(-DdimOptions.ClipSampleRange, DdimOptions.ClipSampleRange);

        // sigma_t of formula (16): sqrt((1 − a_prev)/(1 − a_t)) · sqrt(1 − a_t/a_prev), scaled by eta.
        double variance = (1 - alphaPrevious) / beta * (1 - alpha / alphaPrevious);
        double deviation = DdimOptions.Eta * Math.Sqrt(variance);

        Tensor direction = predictedNoise.Times(Math.Sqrt(1 - alphaPrevious - deviation * deviation));
        Tensor previous = predictedOriginal.Times(Math.Sqrt(alphaPrevious)).Plus(direction);
        if (DdimOptions.Eta > 0)
        {
            Tensor noise = randn(modelOutput.shape, dtype: modelOutput.dtype, device: modelOutput.device, generator: generator);
            previous = previous.Plus(noise.Times(deviation));
        }
        return previous;
    }
}
