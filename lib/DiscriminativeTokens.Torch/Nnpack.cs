namespace DiscriminativeTokens.Torch;

/// <summary>
/// Stops libtorch from trying NNPACK on CPUs it does not support. libtorch 2.10 considers NNPACK for every CPU
/// convolution that oneDNN does not take; where NNPACK cannot initialize (no AVX2 path it accepts, e.g. this project's
/// AMD EPYC VMs) each attempt fails and writes "Could not initialize NNPACK! Reason: Unsupported hardware." to stderr —
/// about a thousand lines a second while training, a cost paid in CPU time by the process and by whatever reads its
/// output. Where NNPACK is unavailable nothing can use it, so switching it off (at::Context::setUserEnabledNNPACK, a
/// process-wide flag) changes no result.
/// </summary>
public static class Nnpack
{
    private static readonly Lazy<bool> Disabled = new(DisableIfUnavailable, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Where NNPACK cannot run on this CPU, switches libtorch's use of it off for the process (once). Returns
    /// whether it is now off. False where libtorch exports no such switch.</summary>
    public static bool AvoidWhereUnsupported() => Disabled.Value;

    /// <summary>Whether NNPACK runs on this CPU (libtorch's at::_nnpack_available).</summary>
    public static bool IsAvailable => LibTorchContext.NnpackAvailable;

    /// <summary>libtorch's process-wide switch for NNPACK (at::Context::userEnabledNNPACK).</summary>
    public static bool IsEnabled => LibTorchContext.NnpackEnabled;

    private static bool DisableIfUnavailable()
    {
        try
        {
            if (LibTorchContext.NnpackAvailable) return false;
            LibTorchContext.NnpackEnabled = false;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
