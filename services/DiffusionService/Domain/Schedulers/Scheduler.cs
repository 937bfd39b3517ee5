using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// A diffusion sampler exact to its diffusers counterpart. One sampling run:
/// <code>
/// scheduler.SetTimesteps(steps, device);
/// x = noise * scheduler.InitNoiseSigma;
/// for (int i = 0; i &lt; scheduler.Timesteps.Count; i++)   // Timesteps.Count == ModelCallsPerRun UNet calls
/// {
///     var input = scheduler.ScaleModelInput(x, i);
///     var output = unet(input, scheduler.Timesteps[i], ...);  // or TimestepsTensor(device)[i]: upstream dtype
///     x = scheduler.Step(output, i, x);
/// }
/// </code>
/// Steps are addressed by their index in <see cref="Timesteps"/>, not by timestep value: PNDM repeats a value and
/// Euler's values are fractional, so an index is the only unambiguous handle.
/// <para>State: PNDM and DPM-Solver keep earlier model outputs. A step at index 0 (or the first step after
/// <see cref="SetTimesteps"/> or <see cref="Reset"/>) starts a new run with empty history; any other step must follow
/// the previous one. <see cref="Clone"/> gives an independent scheduler for concurrent runs.</para>
/// <para>Gradients: <see cref="Step"/> is built from tensor operations with scalar coefficients only, so it is
/// differentiable with respect to the model output and the sample (and earlier outputs the history still uses).</para>
/// <para>Tensor ownership: every returned tensor is new and belongs to the caller (identity scalings return an
/// alias, never the argument itself). History is kept through detached aliases, so the caller's dispose scopes may
/// free the tensors it passed in.</para>
/// </summary>
public abstract class Scheduler : IDisposable
{
    private double[]? _timesteps;
    private int _nextIndex = -1;

    protected Scheduler(SchedulerOptions options)
    {
        options.Validate();
        Options = options;
        NoiseSchedule = new TrainingNoiseSchedule(options);
    }

    /// <summary>The resolved settings (diffusers config values after defaults).</summary>
    public SchedulerOptions Options { get; }

    /// <summary>The diffusers class this scheduler reproduces, e.g. "PNDMScheduler".</summary>
    public string ClassName => Options.ClassName;

    public TrainingNoiseSchedule NoiseSchedule { get; }

    /// <summary>alpha_bar for each training timestep (float32 values, as diffusers' <c>alphas_cumprod</c>).</summary>
    public IReadOnlyList<float> AlphasCumprod => NoiseSchedule.AlphasCumprod;

    /// <summary>The inference step count last passed to <see cref="SetTimesteps"/> (0 before).</summary>
    public int InferenceSteps { get; private set; }

    /// <summary>Device given to <see cref="SetTimesteps"/>; tensors the scheduler creates (noise, timesteps) go there.</summary>
    public Device Device { get; private set; } = CPU;

    /// <summary>
    /// The timestep fed to the model at each step, exactly as diffusers' <c>scheduler.timesteps</c> (integers for
    /// PNDM/DDIM/DPM-Solver, float32 values for Euler). One entry per model call.
    /// </summary>
    public IReadOnlyList<double> Timesteps =>
        _timesteps ?? throw new InvalidOperationException($"{ClassName}: call SetTimesteps before sampling.");

    /// <summary>The dtype of diffusers' timesteps tensor: int64, or float32 for Euler.</summary>
    public virtual ScalarType TimestepDType => ScalarType.Int64;

    /// <summary>
    /// UNet calls in one run = <c>Timesteps.Count</c>. Equal to the step count for DDIM, Euler and DPM-Solver; PNDM
    /// with skip_prk_steps makes steps + 1 calls (its second timestep is evaluated twice), and with the Runge-Kutta
    /// warm-up steps + 9 (12 calls cover the first three intervals).
    /// </summary>
    public int ModelCallsPerRun => Timesteps.Count;

    /// <summary>Standard deviation of the initial noise: multiply the unit-variance starting latents by it.</summary>
    public virtual double InitNoiseSigma => 1.0;

    /// <summary>Computes the timesteps (and sigmas) for a run of <paramref name="steps"/> steps and clears history.</summary>
    public void SetTimesteps(int steps, Device? device = null)
    {
        if (steps < 1 || steps > Options.NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"{ClassName}: the step count must lie in [1, num_train_timesteps = {Options.NumTrainTimesteps}].");
        _timesteps = ComputeTimesteps(steps);
        InferenceSteps = steps;
        Device = device ?? CPU;
        Reset();
    }

    /// <summary>The timesteps as a new tensor of <see cref="TimestepDType"/> on <paramref name="device"/>.</summary>
    public Tensor TimestepsTensor(Device? device = null)
    {
        Device target = device ?? Device;
        var values = Timesteps;
        return TimestepDType == ScalarType.Float32
            ? tensor(values.Select(v => (float)v).ToArray(), device: target)
            : tensor(values.Select(v => (long)v).ToArray(), device: target);
    }

    /// <summary>The model input for step <paramref name="stepIndex"/>; identity (an alias) except for Euler.</summary>
    public virtual Tensor ScaleModelInput(Tensor sample, int stepIndex)
    {
        CheckIndex(stepIndex);
        return sample.alias();
    }

    /// <summary>
    /// Advances the sample from <c>Timesteps[stepIndex]</c> to the next timestep given the model output there.
    /// <paramref name="generator"/> feeds the noise of stochastic settings (DDIM with eta &gt; 0).
    /// </summary>
    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator = null)
    {
        CheckIndex(stepIndex);
        if (!modelOutput.shape.SequenceEqual(sample.shape))
            throw new ArgumentException($"{ClassName}: model output shape [{string.Join(", ", modelOutput.shape)}] differs " +
                                        $"from sample shape [{string.Join(", ", sample.shape)}].");
        if (stepIndex == 0 || _nextIndex < 0)
            Reset();
        else if (stepIndex != _nextIndex)
            throw new InvalidOperationException(
                $"{ClassName}: step {stepIndex} does not follow step {_nextIndex - 1} of the current run. Steps run in order; " +
                "call Reset() to start a run part-way through the schedule.");

        using var scope = NewDisposeScope();
        Tensor result = StepCore(modelOutput, stepIndex, sample, generator);
        StepsTaken++;
        _nextIndex = stepIndex + 1;
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Forgets the history of the current run; the timesteps stay.</summary>
    public void Reset()
    {
        ClearHistory();
        StepsTaken = 0;
        _nextIndex = -1;
    }

    /// <summary>A scheduler with the same settings and timesteps and no history.</summary>
    public Scheduler Clone()
    {
        Scheduler copy = CreateFresh();
        if (_timesteps is not null)
            copy.SetTimesteps(InferenceSteps, Device);
        return copy;
    }

    /// <summary>
    /// An independent scheduler at the same point of the same run: stepping either one onwards gives the same results.
    /// The copy shares the history tensors (they are never changed in place), autograd links included. Used to resume a
    /// run part-way, e.g. to recompute the last steps under autograd without repeating the earlier ones.
    /// </summary>
    public Scheduler Fork()
    {
        Scheduler copy = Clone();
        copy._nextIndex = _nextIndex;
        copy.StepsTaken = StepsTaken;
        CopyHistoryTo(copy);
        return copy;
    }

    public void Dispose()
    {
        Reset();
        GC.SuppressFinalize(this);
    }

    /// <summary>Steps taken since the run started (diffusers' <c>counter</c>).</summary>
    protected int StepsTaken { get; private set; }

    protected abstract double[] ComputeTimesteps(int steps);

    /// <summary>One step; runs inside a dispose scope, so temporaries need no care. History must go through Keep.</summary>
    protected abstract Tensor StepCore(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator);

    protected abstract Scheduler CreateFresh();

    /// <summary>Gives <paramref name="target"/> (a fresh scheduler of the same type) this run's history, via Keep.</summary>
    protected virtual void CopyHistoryTo(Scheduler target)
    {
    }

    /// <summary>Disposes whatever history the scheduler holds.</summary>
    protected virtual void ClearHistory()
    {
    }

    /// <summary>alpha_bar at a training timestep, widened to double.</summary>
    protected double AlphaCumprod(int timestep)
    {
        if (timestep < 0 || timestep >= AlphasCumprod.Count)
            throw new InvalidOperationException($"{ClassName}: timestep {timestep} is outside the {AlphasCumprod.Count} training timesteps.");
        return AlphasCumprod[timestep];
    }

    /// <summary>
    /// A handle to <paramref name="tensor"/> that the scheduler owns: an alias (same tensor, same autograd node) outside
    /// every dispose scope, so neither the caller's scopes nor StepCore's scope free it. Release it with Dispose.
    /// </summary>
    protected static Tensor Keep(Tensor tensor) => tensor.alias().DetachFromDisposeScope();

    protected void CheckIndex(int stepIndex)
    {
        int count = Timesteps.Count;
        if (stepIndex < 0 || stepIndex >= count)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex,
                $"{ClassName}: step index must lie in [0, {count}) for this run.");
    }
}
