using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// AdamW on the one learned token vector, and nothing else (the reference optimizes the whole embedding matrix, and
/// its weight decay shrinks every other token too). TorchSharp's AdamW does the update; this class owns the single
/// parameter, sets its gradient, clips it once, and moves the optimizer state in and out of checkpoints exactly.
/// <code>
/// optimizer.SetGradient(meanGradient);
/// var clip = optimizer.ClipGradient();   // once, right before the step
/// optimizer.Step();
/// </code>
/// </summary>
public sealed class TokenOptimizer : IDisposable
{
    private readonly Parameter _token;
    private readonly AdamW _adamW;
    private readonly double _maxGradNorm;

    public TokenOptimizer(float[] token, TrainingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(settings);
        if (token.Length == 0) throw new ArgumentException("The token vector is empty.", nameof(token));
        if (!(settings.MaxGradNorm > 0))
            throw new ArgumentException($"MaxGradNorm must be positive; it is {settings.MaxGradNorm}.", nameof(settings));
        if (!(settings.LearningRate > 0))
            throw new ArgumentException($"LearningRate must be positive; it is {settings.LearningRate}.", nameof(settings));
        _maxGradNorm = settings.MaxGradNorm;
        using (var initial = TensorDataTorch.ToTensor(TensorData.Vector(token)))
            _token = new Parameter(initial.clone(), requires_grad: true);
        try
        {
            _adamW = optim.AdamW([_token], settings.LearningRate, settings.Beta1, settings.Beta2, settings.Epsilon,
                                 settings.WeightDecay);
        }
        catch
        {
            _token.Dispose();
            throw;
        }
    }

    public int Size => (int)_token.numel();

    /// <summary>AdamW steps taken (including those of an imported state).</summary>
    public long Steps => State.step;

    /// <summary>A copy of the current token vector.</summary>
    public float[] Token => TensorDataTorch.ToArray(_token);

    private AdamW.State State => (AdamW.State)_adamW.state_dict().State[0];

    /// <summary>Sets the gradient the next <see cref="ClipGradient"/> and <see cref="Step"/> use.</summary>
    public void SetGradient(float[] gradient)
    {
        CheckLength(gradient, nameof(gradient));
        using var value = TensorDataTorch.ToTensor(TensorData.Vector(gradient));
        using var noGrad = no_grad();
        if (_token.grad is { } existing)
            existing.copy_(value);
        else
            _token.grad = value.clone();
    }

    /// <summary>Scales the gradient to at most the maximum L2 norm (as torch.nn.utils.clip_grad_norm_).</summary>
    public GradientClip ClipGradient()
    {
        var grad = _token.grad ?? throw new InvalidOperationException("Set the gradient before clipping it.");
        double before = nn.utils.clip_grad_norm_([_token], _maxGradNorm);
        double after;
        using (var norm = grad.norm()) after = norm.item<float>();
        return new GradientClip(before, after);
    }

    /// <summary>One AdamW step with the current gradient.</summary>
    public void Step()
    {
        if (_token.grad is null) throw new InvalidOperationException("Set the gradient before stepping.");
        // TorchSharp's AdamW makes temporary Scalars that a collection could free mid-call (see Scalars).
        NoCollection.Run(() => _adamW.step());
    }

    /// <summary>The exact optimizer state: first and second moments and the step count.</summary>
    public (float[] ExpAvg, float[] ExpAvgSq, long Steps) ExportState()
    {
        var state = State;
        return (TensorDataTorch.ToArray(state.exp_avg), TensorDataTorch.ToArray(state.exp_avg_sq), state.step);
    }

    /// <summary>Replaces the optimizer state with an exported one (values copied bit for bit).</summary>
    public void ImportState(float[] expAvg, float[] expAvgSq, long steps)
    {
        CheckLength(expAvg, nameof(expAvg));
        CheckLength(expAvgSq, nameof(expAvgSq));
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "The step count cannot be negative.");
        var state = State;
        using var noGrad = no_grad();
        using (var m = TensorDataTorch.ToTensor(TensorData.Vector(expAvg))) state.exp_avg.copy_(m);
        using (var v = TensorDataTorch.ToTensor(TensorData.Vector(expAvgSq))) state.exp_avg_sq.copy_(v);
        state.step = steps;
    }

    /// <summary>An optimizer continuing from a checkpoint: its token and its AdamW state.</summary>
    public static TokenOptimizer FromCheckpoint(TrainingCheckpoint checkpoint, TrainingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var optimizer = new TokenOptimizer(checkpoint.Token, settings);
        try
        {
            optimizer.ImportState(checkpoint.ExpAvg, checkpoint.ExpAvgSq, checkpoint.OptimizerSteps);
            return optimizer;
        }
        catch
        {
            optimizer.Dispose();
            throw;
        }
    }

    private void CheckLength(float[] values, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Length != Size)
            throw new ArgumentException($"{name} has {values.Length} values; the token vector has {Size}.", name);
    }

    public void Dispose()
    {
        _adamW.Dispose();
        _token.Dispose();
    }
}
