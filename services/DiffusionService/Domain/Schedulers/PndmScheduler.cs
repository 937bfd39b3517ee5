using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// Pseudo numerical methods for diffusion models (Liu et al. 2022), as diffusers' PNDMScheduler, Stable Diffusion's
/// default. With skip_prk_steps the run is PLMS with a repeated second timestep (e.g. 901, 801, 801, 701, …, 1:
/// steps + 1 model calls): the first two calls form a second-order warm-up from the same sample. Without it, twelve
/// Runge-Kutta calls at full and half steps cover the first three intervals, then PLMS continues (steps + 9 calls).
/// </summary>
public sealed class PndmScheduler : Scheduler
{
    private const int RungeKuttaCalls = 12;

    private readonly List<Tensor> _pastOutputs = [];   // diffusers' ets: the model outputs PLMS extrapolates from
    private Tensor? _rungeKuttaSum;                     // cur_model_output: the weighted RK average being built
    private Tensor? _runStartSample;                    // cur_sample: the sample the warm-up steps start from
    private int _rungeKuttaCount;
    private readonly double _finalAlphaCumprod;

    public PndmScheduler(PndmOptions options) : base(options)
    {
        PndmOptions = options;
        _finalAlphaCumprod = options.SetAlphaToOne ? 1.0 : AlphasCumprod[0];
    }

    public PndmOptions PndmOptions { get; }

    protected override Scheduler CreateFresh() => new PndmScheduler(PndmOptions);

    protected override double[] ComputeTimesteps(int steps)
    {
        int train = Options.NumTrainTimesteps;
        long[] ascending = Options.TimestepSpacing switch
        {
            TimestepSpacing.Linspace => NumpyCompat.Linspace(0, train - 1, steps).Select(v => (long)NumpyCompat.Round(v)).ToArray(),
            TimestepSpacing.Leading => Enumerable.Range(0, steps).Select(i => (long)i * (train / steps) + Options.StepsOffset).ToArray(),
            TimestepSpacing.Trailing => NumpyCompat.Arange(train, 0, -(double)train / steps)
                .Select(v => (long)NumpyCompat.Round(v) - 1).Reverse().ToArray(),
            _ => throw new InvalidOperationException(),
        };

        if (PndmOptions.SkipPrkSteps)
        {
            // All but the last, the second-to-last again, then the last; reversed to run downwards.
            var plms = ascending[..^1].Concat(ascending[^2..^1]).Concat(ascending[^1..]).Reverse();
            _rungeKuttaCount = 0;
            return plms.Select(t => (double)t).ToArray();
        }

        if (steps < 4)
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                "PNDMScheduler with skip_prk_steps = false needs at least 4 steps for its Runge-Kutta warm-up.");
        // The four highest timesteps, each followed by its half step, give the points of three RK4 intervals.
        long half = train / steps / 2;
        var points = ascending[^4..].SelectMany(t => new[] { t, t + half }).ToArray();
        var rk = points[..^1].SelectMany(t => new[] { t, t }).ToArray()[1..^1].Reverse().ToArray();
        _rungeKuttaCount = rk.Length;
        var plmsAfter = ascending[..^3].Reverse();
        return rk.Concat(plmsAfter).Select(t => (double)t).ToArray();
    }

    protected override Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator)
    {
        int timestep = (int)Timesteps[stepIndex];
        return !PndmOptions.SkipPrkSteps && StepsTaken < _rungeKuttaCount
            ? StepRungeKutta(modelOutput, timestep, sample)
            : StepLinearMultistep(modelOutput, timestep, sample);
    }

    private Tensor StepRungeKutta(Tensor modelOutput, int timestep, Tensor sample)
    {
        int counter = StepsTaken;
        int halfStep = Options.NumTrainTimesteps / InferenceSteps / 2;
        int previousTimestep = timestep - (counter % 2 == 1 ? 0 : halfStep);
        // Every RK stage starts from the interval's first point, with the alphas of that point.
        int intervalStart = (int)Timesteps[counter / 4 * 4];

        Tensor output = modelOutput;
        switch (counter % 4)
        {
            case 0:
                Replace(ref _rungeKuttaSum, modelOutput.Times(1.0 / 6));
                _pastOutputs.Add(Keep(modelOutput));
                Replace(ref _runStartSample, sample);
                break;
            case 1:
            case 2:
                Replace(ref _rungeKuttaSum, _rungeKuttaSum!.Plus(modelOutput.Times(1.0 / 3)));
                break;
            case 3:
                output = _rungeKuttaSum!.Plus(modelOutput.Times(1.0 / 6));
                Replace(ref _rungeKuttaSum, null);
                break;
        }
        return PreviousSample(_runStartSample ?? sample, intervalStart, previousTimestep, output);
    }

    private Tensor StepLinearMultistep(Tensor modelOutput, int timestep, Tensor sample)
    {
        int counter = StepsTaken;
        if (!PndmOptions.SkipPrkSteps && _pastOutputs.Count < 3)
            throw new InvalidOperationException("PNDMScheduler: the PLMS steps need the 12 Runge-Kutta steps before them.");
        int stride = Options.NumTrainTimesteps / InferenceSteps;
        int previousTimestep = timestep - stride;

        if (counter != 1)
        {
            while (_pastOutputs.Count > 3)
            {
                _pastOutputs[0].Dispose();
                _pastOutputs.RemoveAt(0);
            }
            _pastOutputs.Add(Keep(modelOutput));
        }
        else
        {
            // The repeated timestep: redo the first interval from its start with the averaged output.
            previousTimestep = timestep;
            timestep += stride;
        }

        var e = _pastOutputs;
        int n = e.Count;
        Tensor output;
        if (n == 1 && counter == 0)
        {
            output = modelOutput;
            Replace(ref _runStartSample, sample);
        }
        else if (n == 1 && counter == 1)
        {
            output = modelOutput.Plus(e[^1]).DividedBy(2L);
            sample = _runStartSample!.alias();   // StepCore's scope owns this handle
            Replace(ref _runStartSample, null);
        }
        else if (n == 2)
            output = (e[^1].Times(3L) - e[^2]).DividedBy(2L);
        else if (n == 3)
            output = (e[^1].Times(23L) - e[^2].Times(16L)).Plus(e[^3].Times(5L)).DividedBy(12L);
        else
            output = ((e[^1].Times(55L) - e[^2].Times(59L)).Plus(e[^3].Times(37L)) - e[^4].Times(9L)).Times(1.0 / 24);

        return PreviousSample(sample, timestep, previousTimestep, output);
    }

    /// <summary>Formula (9) of the PNDM paper: the DDIM-like transfer from timestep to previousTimestep.</summary>
    private Tensor PreviousSample(Tensor sample, int timestep, int previousTimestep, Tensor modelOutput)
    {
        double alpha = AlphaCumprod(timestep);
        double alphaPrevious = previousTimestep >= 0 ? AlphaCumprod(previousTimestep) : _finalAlphaCumprod;
        double beta = 1 - alpha;
        double betaPrevious = 1 - alphaPrevious;

        if (Options.PredictionType == PredictionType.VPrediction)
            modelOutput = modelOutput.Times(Math.Sqrt(alpha)).Plus(sample.Times(Math.Sqrt(beta)));

        double sampleCoefficient = Math.Sqrt(alphaPrevious / alpha);
        double outputDenominator = alpha * Math.Sqrt(betaPrevious) + Math.Sqrt(alpha * beta * alphaPrevious);
        return sample.Times(sampleCoefficient) - modelOutput.Times(alphaPrevious - alpha).DividedBy(outputDenominator);
    }

    protected override void CopyHistoryTo(Scheduler target)
    {
        var copy = (PndmScheduler)target;
        copy._pastOutputs.AddRange(_pastOutputs.Select(Keep));
        copy._rungeKuttaSum = _rungeKuttaSum is null ? null : Keep(_rungeKuttaSum);
        copy._runStartSample = _runStartSample is null ? null : Keep(_runStartSample);
    }

    protected override void ClearHistory()
    {
        foreach (var tensor in _pastOutputs) tensor.Dispose();
        _pastOutputs.Clear();
        Replace(ref _rungeKuttaSum, null);
        Replace(ref _runStartSample, null);
    }

    private static void Replace(ref Tensor? slot, Tensor? value)
    {
        Tensor? kept = value is null ? null : Keep(value);
        slot?.Dispose();
        slot = kept;
    }
}
