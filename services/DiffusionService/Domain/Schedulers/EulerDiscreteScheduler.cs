using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// Euler's method on the probability-flow ODE in sigma space (Karras et al. 2022), as diffusers'
/// EulerDiscreteScheduler: one model call per step, no history. Timesteps are float32 values (fractional for
/// "linspace" spacing) and the UNet must receive them as such. The model input is scaled by 1/sqrt(sigma² + 1) and
/// the initial noise by <see cref="InitNoiseSigma"/>, unlike PNDM/DDIM.
/// </summary>
public sealed class EulerDiscreteScheduler : Scheduler
{
    private double[] _sigmas = [];

    public EulerDiscreteScheduler(EulerDiscreteOptions options) : base(options)
    {
        EulerOptions = options;
    }

    public EulerDiscreteOptions EulerOptions { get; }

    public override ScalarType TimestepDType => ScalarType.Float32;

    /// <summary>sigma at each step plus a final 0 (float32 values, as diffusers' <c>sigmas</c>).</summary>
    public IReadOnlyList<double> Sigmas => _sigmas;

    /// <summary>sigma_max for "linspace"/"trailing" spacing, sqrt(sigma_max² + 1) for "leading", as upstream.</summary>
    public override double InitNoiseSigma
    {
        get
        {
            _ = Timesteps;
            double max = _sigmas.Max();
            return Options.TimestepSpacing == TimestepSpacing.Leading ? Math.Sqrt(max * max + 1) : max;
        }
    }

    protected override Scheduler CreateFresh() => new EulerDiscreteScheduler(EulerOptions);

    protected override double[] ComputeTimesteps(int steps)
    {
        int train = Options.NumTrainTimesteps;
        IEnumerable<double> descending = Options.TimestepSpacing switch
        {
            TimestepSpacing.Linspace => NumpyCompat.Linspace(0, train - 1, steps).Reverse(),
            TimestepSpacing.Leading => Enumerable.Range(0, steps).Select(i => (double)i * (train / steps)).Reverse()
                                                 .Select(t => (double)((float)t + Options.StepsOffset)),
            TimestepSpacing.Trailing => NumpyCompat.Arange(train, 0, -(double)train / steps)
                                                   .Select(v => (double)((float)NumpyCompat.Round(v) - 1f)),
            _ => throw new InvalidOperationException(),
        };
        // Upstream keeps the timesteps as float32.
        double[] timesteps = descending.Select(t => (double)(float)t).ToArray();

        // sigma(t) = sqrt((1 − alpha_bar)/alpha_bar) at each training timestep (float32), interpolated linearly.
        float[] trainingSigmas = AlphasCumprod.Select(a => MathF.Sqrt((1 - a) / a)).ToArray();
        _sigmas = timesteps.Select(t => (double)(float)NumpyCompat.InterpolateAtIndex(t, trainingSigmas))
                           .Append(0.0).ToArray();
        return timesteps;
    }

    public override Tensor ScaleModelInput(Tensor sample, int stepIndex)
    {
        CheckIndex(stepIndex);
        double sigma = _sigmas[stepIndex];
        return sample.DividedBy(Math.Sqrt(sigma * sigma + 1));
    }

    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        // Upstream computes in float32 and returns the model output's dtype.
        Tensor x = sample.to(ScalarType.Float32);
        double sigma = _sigmas[stepIndex];
        Tensor predictedOriginal = Options.PredictionType switch
        {
            PredictionType.Epsilon => x - modelOutput.Times(sigma),
            PredictionType.VPrediction => modelOutput.Times(-sigma / Math.Sqrt(sigma * sigma + 1)).Plus(x.DividedBy(sigma * sigma + 1)),
            _ => modelOutput,
        };
        Tensor derivative = (x - predictedOriginal).DividedBy(sigma);
        double dt = (float)(_sigmas[stepIndex + 1] - sigma);
        return x.Plus(derivative.Times(dt)).to(modelOutput.dtype);
    }
}
