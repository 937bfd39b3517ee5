namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>
/// Which UNet calls of a sampling run are differentiated ("gradient skipping"). The calls before them run without
/// autograd; their result enters the differentiated calls as a constant.
/// <para><see cref="Reference"/> is the DCT reference's rule: no gradients while the index in the scheduler's
/// timestep list is below steps − 1. Most schedulers make one call per step, so that is the last call only; PNDM
/// evaluates its second timestep twice (steps + 1 calls), so it differentiates the last two.</para>
/// </summary>
public sealed record GradientMode
{
    private GradientMode(GradientModeKind kind, int k)
    {
        Kind = kind;
        K = k;
    }

    public GradientModeKind Kind { get; }

    /// <summary>The number of differentiated calls for <see cref="GradientModeKind.LastK"/>; 0 otherwise.</summary>
    public int K { get; }

    public static GradientMode Reference { get; } = new(GradientModeKind.Reference, 0);

    public static GradientMode Full { get; } = new(GradientModeKind.Full, 0);

    /// <summary>The last <paramref name="k"/> UNet calls (all of them when the run has fewer).</summary>
    public static GradientMode LastK(int k) =>
        k >= 1 ? new GradientMode(GradientModeKind.LastK, k)
               : throw new ArgumentOutOfRangeException(nameof(k), k, "At least one UNet call must be differentiated.");

    /// <summary>Index of the first differentiated call in a run of <paramref name="modelCalls"/> calls for
    /// <paramref name="steps"/> inference steps; every later call is differentiated too.</summary>
    public int FirstDifferentiatedCall(int steps, int modelCalls)
    {
        if (steps < 1 || modelCalls < 1)
            throw new ArgumentOutOfRangeException(nameof(steps), "A sampling run has at least one step and one UNet call.");
        return Kind switch
        {
            GradientModeKind.Reference => Math.Clamp(steps - 1, 0, modelCalls - 1),
            GradientModeKind.LastK => Math.Max(0, modelCalls - K),
            _ => 0,
        };
    }

    public override string ToString() => Kind == GradientModeKind.LastK ? $"LastK({K})" : Kind.ToString();
}
