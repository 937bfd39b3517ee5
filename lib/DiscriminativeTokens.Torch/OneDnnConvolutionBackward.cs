using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Torch;

/// <summary>
/// Guards CPU gradients against a oneDNN defect seen with libtorch 2.10 (oneDNN 3.7.1, AVX-512 kernels, an AMD EPYC
/// here): a convolution's backward pass by data returns wrong values, often NaN, when the output channels are not a
/// multiple of 16 and libtorch hands the call to oneDNN (a batch above 1, or an input above 20480 values). Every Stable
/// Diffusion UNet (4 output channels) and VAE (3) ends in such a convolution. Forward passes are correct.
/// <para>A one-time probe compares oneDNN's gradient with libtorch's own kernels. Only where they disagree,
/// <see cref="ReliableGradients"/> switches libtorch's use of oneDNN off (at::Context::setUserEnabledMkldnn, a
/// process-wide flag) until the last open scope closes; forward passes on other threads meanwhile use libtorch's own,
/// slower but correct kernels. CUDA tensors are unaffected either way.</para>
/// <para>Switching kernels per scope makes a forward pass on another thread use different kernels depending on
/// timing, so the same seed may not give bit-identical images. Processes that load models call
/// <see cref="AvoidProcessWideIfDefective"/> before any work: then every pass uses the same, correct kernels.</para>
/// </summary>
public static class OneDnnConvolutionBackward
{
    private static readonly Lazy<bool> Defect = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lock Gate = new();
    private static int s_openScopes;
    private static bool s_enabledBefore;
    private static bool s_avoidedProcessWide;

    /// <summary>Whether this machine's oneDNN computes wrong convolution gradients (probed on first use). False where
    /// the flag cannot be switched (the libtorch build exports no such symbol), since nothing can then be done.</summary>
    public static bool IsDefective => Defect.Value;

    /// <summary>
    /// Where the defect exists, stops libtorch from using oneDNN for the rest of the process (forward and backward),
    /// so results do not depend on what other threads are doing. Call it once before models do any work (model
    /// loading does). Returns whether oneDNN is now avoided.
    /// </summary>
    public static bool AvoidProcessWideIfDefective()
    {
        if (!IsDefective) return false;
        lock (Gate)
        {
            s_avoidedProcessWide = true;
            LibTorchContext.OneDnnEnabled = false;
        }
        return true;
    }

    /// <summary>A scope for computing gradients (backward, autograd.grad) in which CPU convolutions are correct.</summary>
    public static IDisposable ReliableGradients()
    {
        if (!IsDefective) return NoScope.Instance;
        lock (Gate)
        {
            if (s_avoidedProcessWide) return NoScope.Instance;
            if (s_openScopes++ == 0)
            {
                s_enabledBefore = LibTorchContext.OneDnnEnabled;
                LibTorchContext.OneDnnEnabled = false;
            }
        }
        return new Scope();
    }

    private sealed class Scope : IDisposable
    {
        private int _closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0) return;
            lock (Gate)
            {
                if (--s_openScopes == 0 && !s_avoidedProcessWide)
                    LibTorchContext.OneDnnEnabled = s_enabledBefore;
            }
        }
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();

        public void Dispose()
        {
        }
    }

    /// <summary>Input gradients of three convolutions the defect hits, with oneDNN and without; any disagreement or
    /// non-finite value marks the machine defective.</summary>
    private static bool Probe()
    {
        bool enabled;
        try
        {
            enabled = LibTorchContext.OneDnnEnabled;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        if (!enabled) return false;   // oneDNN is already off: nothing to guard against

        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        using var generator = new Generator(20230331, CPU);
        foreach (var (batch, inChannels, outChannels, side) in new[] { (1, 32, 3, 32), (2, 32, 4, 16), (1, 32, 8, 32) })
        {
            var input = randn([batch, inChannels, side, side], generator: generator);
            var weight = randn([outChannels, inChannels, 3, 3], generator: generator);
            var outputGradient = randn([batch, outChannels, side, side], generator: generator);
            Tensor InputGradient()
            {
                var leaf = input.detach().requires_grad_(true);
                var output = nn.functional.conv2d(leaf, weight, padding: [1, 1]);
                return autograd.grad([output], [leaf], [outputGradient])[0];
            }

            var withOneDnn = InputGradient();
            Tensor reference;
            LibTorchContext.OneDnnEnabled = false;
            try
            {
                reference = InputGradient();
            }
            finally
            {
                LibTorchContext.OneDnnEnabled = true;
            }
            double scale = reference.abs().max().item<float>();
            if (!withOneDnn.isfinite().all().item<bool>() || (withOneDnn - reference).abs().max().item<float>() > 1e-4 * scale)
                return true;
        }
        return false;
    }
}
