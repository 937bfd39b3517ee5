using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// DPM-Solver++ multistep (Lu et al. 2022), as diffusers' DPMSolverMultistepScheduler with algorithm "dpmsolver++":
/// one model call per step; the second-order update reuses the previous step's data prediction, so the first step
/// (no history yet) and, by default, the last step are first order.
/// </summary>
public sealed class DpmSolverMultistepScheduler : Scheduler
{
    private double[] _sigmas = [];
    private Tensor? _previousPrediction;   // data prediction (x0) of the previous step
    private int _lowerOrderSteps;           // diffusers' lower_order_nums

    public DpmSolverMultistepScheduler(DpmSolverMultistepOptions options) : base(options)
    {
        DpmOptions = options;
    }

    public DpmSolverMultistepOptions DpmOptions { get; }

    /// <summary>sigma at each step plus the final sigma (float32 values, as diffusers' <c>sigmas</c>).</summary>
    public IReadOnlyList<double> Sigmas => _sigmas;

    protected override Scheduler CreateFresh() => new DpmSolverMultistepScheduler(DpmOptions);

    protected override double[] ComputeTimesteps(int steps)
    {
        int train = Options.NumTrainTimesteps;
        int lastTimestep = train - ClippedTimestepCount();
        IEnumerable<long> descending = Options.TimestepSpacing switch
        {
            // steps + 1 points from 0 to the last timestep, highest first, without the final 0.
            TimestepSpacing.Linspace => NumpyCompat.Linspace(0, lastTimestep - 1, steps + 1)
                .Select(v => (long)NumpyCompat.Round(v)).Reverse().SkipLast(1),
            TimestepSpacing.Leading => Enumerable.Range(0, steps + 1).Select(i => (long)i * (lastTimestep / (steps + 1)))
                .Reverse().SkipLast(1).Select(t => t + Options.StepsOffset),
            TimestepSpacing.Trailing => NumpyCompat.Arange(lastTimestep, 0, -(double)train / steps)
                .Select(v => (long)NumpyCompat.Round(v) - 1),
            _ => throw new InvalidOperationException(),
        };
        long[] timesteps = descending.ToArray();

        float[] trainingSigmas = AlphasCumprod.Select(a => MathF.Sqrt((1 - a) / a)).ToArray();
        double finalSigma = DpmOptions.FinalSigmaZero ? 0.0 : trainingSigmas[0];
        _sigmas = timesteps.Select(t => (double)trainingSigmas[t]).Append(finalSigma).ToArray();
        return timesteps.Select(t => (double)t).ToArray();
    }

    /// <summary>How many of the highest timesteps have a log-SNR below lambda_min_clipped (searchsorted as upstream).</summary>
    private int ClippedTimestepCount()
    {
        double clip = DpmOptions.LambdaMinClipped;
        if (double.IsNegativeInfinity(clip)) return 0;
        // lambda(t) = log(alpha_t) − log(sigma_t) falls with t; count from the top until it reaches the clip.
        int count = 0;
        for (int t = AlphasCumprod.Count - 1; t >= 0; t--)
        {
            float a = AlphasCumprod[t];
            float lambda = MathF.Log(MathF.Sqrt(a)) - MathF.Log(MathF.Sqrt(1 - a));
            if (lambda >= clip) break;
            count++;
        }
        return count;
    }

    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        int count = Timesteps.Count;
        bool lastStep = stepIndex == count - 1;
        bool firstOrderFinal = lastStep &&
                               (DpmOptions.EulerAtFinal || (DpmOptions.LowerOrderFinal && count < 15) || DpmOptions.FinalSigmaZero);

        Tensor prediction = DataPrediction(modelOutput, stepIndex, sample);
        Tensor x = sample.to(ScalarType.Float32);   // upstream steps in float32
        Tensor previous = DpmOptions.SolverOrder == 1 || _lowerOrderSteps < 1 || firstOrderFinal || _previousPrediction is null
            ? FirstOrderUpdate(prediction, stepIndex, x)
            : SecondOrderUpdate(prediction, _previousPrediction, stepIndex, x);

        Tensor kept = Keep(prediction);
        _previousPrediction?.Dispose();
        _previousPrediction = kept;
        if (_lowerOrderSteps < DpmOptions.SolverOrder) _lowerOrderSteps++;
        return previous.to(modelOutput.dtype);
    }

    /// <summary>The model output converted to a prediction of x0 (DPM-Solver++ integrates the data prediction).</summary>
    private Tensor DataPrediction(Tensor modelOutput, int stepIndex, Tensor sample)
    {
        var (alpha, sigma) = AlphaSigma(_sigmas[stepIndex]);
        return Options.PredictionType switch
        {
            PredictionType.Epsilon => (sample - modelOutput.Times(sigma)).DividedBy(alpha),
            PredictionType.VPrediction => sample.Times(alpha) - modelOutput.Times(sigma),
            _ => modelOutput.alias(),
        };
    }

    private Tensor FirstOrderUpdate(Tensor prediction, int stepIndex, Tensor sample)
    {
        var (alphaT, sigmaT) = AlphaSigma(_sigmas[stepIndex + 1]);
        var (alphaS, sigmaS) = AlphaSigma(_sigmas[stepIndex]);
        double h = Lambda(alphaT, sigmaT) - Lambda(alphaS, sigmaS);
        return sample.Times(sigmaT / sigmaS) - prediction.Times(alphaT * (Math.Exp(-h) - 1.0));
    }

    private Tensor SecondOrderUpdate(Tensor prediction, Tensor previousPrediction, int stepIndex, Tensor sample)
    {
        var (alphaT, sigmaT) = AlphaSigma(_sigmas[stepIndex + 1]);
        var (alphaS0, sigmaS0) = AlphaSigma(_sigmas[stepIndex]);
        var (alphaS1, sigmaS1) = AlphaSigma(_sigmas[stepIndex - 1]);
        double lambdaT = Lambda(alphaT, sigmaT), lambdaS0 = Lambda(alphaS0, sigmaS0), lambdaS1 = Lambda(alphaS1, sigmaS1);
        double h = lambdaT - lambdaS0;
        double r0 = (lambdaS0 - lambdaS1) / h;
        Tensor d1 = (prediction - previousPrediction).Times(1.0 / r0);
        double expTerm = alphaT * (Math.Exp(-h) - 1.0);
        Tensor result = sample.Times(sigmaT / sigmaS0) - prediction.Times(expTerm);
        return DpmOptions.SolverType == DpmSolverType.Midpoint
            ? result - d1.Times(0.5 * expTerm)
            : result.Plus(d1.Times(alphaT * ((Math.Exp(-h) - 1.0) / h + 1.0)));
    }

    /// <summary>VP coefficients of a sigma: alpha = 1/sqrt(sigma² + 1), sigma_t = sigma·alpha.</summary>
    private static (double Alpha, double Sigma) AlphaSigma(double sigma)
    {
        double alpha = 1 / Math.Sqrt(sigma * sigma + 1);
        return (alpha, sigma * alpha);
    }

    /// <summary>Half log-SNR; +inf at sigma 0, which makes the final update return the data prediction.</summary>
    private static double Lambda(double alpha, double sigma) => Math.Log(alpha) - Math.Log(sigma);

    protected override void CopyHistoryTo(Scheduler target)
    {
        var copy = (DpmSolverMultistepScheduler)target;
        copy._previousPrediction = _previousPrediction is null ? null : Keep(_previousPrediction);
        copy._lowerOrderSteps = _lowerOrderSteps;
    }

    protected override void ClearHistory()
    {
        _previousPrediction?.Dispose();
        _previousPrediction = null;
        _lowerOrderSteps = 0;
    }
}
