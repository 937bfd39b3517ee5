using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>
/// The result of <see cref="TokenGradientSampler.Forward"/>: the generated image and what the memory mode keeps for
/// <see cref="TokenGradientSampler.Backward"/>. Every tensor here belongs to the handle; Dispose frees them all.
/// </summary>
public sealed class TokenGradientForward : IDisposable
{
    private BackwardState? _state;
    private readonly Tensor _image;
    private readonly Tensor _finalLatents;

    internal TokenGradientForward(TokenGradientOptions options, string schedulerName, Tensor image,
                                  Tensor finalLatents, bool[] callsWithGradient, IReadOnlyList<string> warnings, BackwardState state)
    {
        Options = options;
        SchedulerName = schedulerName;
        _image = image;
        _finalLatents = finalLatents;
        CallsWithGradient = callsWithGradient;
        Warnings = warnings;
        _state = state;
    }

    /// <summary>The settings as given (explicit initial latents were copied; the handle does not use that tensor).</summary>
    public TokenGradientOptions Options { get; }

    /// <summary>The diffusers class of the scheduler that ran, e.g. "PNDMScheduler".</summary>
    public string SchedulerName { get; }

    public GradientMemoryMode MemoryMode => Options.MemoryMode;

    /// <summary>The decoded image [1, 3, H, W] in [0, 1], detached; the input of the loss.</summary>
    public Tensor Image => Alive(_image);

    /// <summary>The latents after the last step [1, C, h, w], before the scaling factor.</summary>
    public Tensor FinalLatents => Alive(_finalLatents);

    /// <summary>One entry per UNet call of the run: whether it is differentiated.</summary>
    public IReadOnlyList<bool> CallsWithGradient { get; }

    public int DifferentiatedCalls => CallsWithGradient.Count(c => c);

    /// <summary>What the caller should know about the prompt (e.g. truncation).</summary>
    public IReadOnlyList<string> Warnings { get; }

    internal BackwardState State => _state ?? throw new ObjectDisposedException(nameof(TokenGradientForward));

    public void Dispose()
    {
        if (_state is null) return;
        _state.Dispose();
        _state = null;
        _image.Dispose();
        _finalLatents.Dispose();
    }

    private Tensor Alive(Tensor tensor) =>
        _state is null ? throw new ObjectDisposedException(nameof(TokenGradientForward)) : tensor;
}
