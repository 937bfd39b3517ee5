using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

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
    public static bool IsAvailable
    {
        get
        {
            _ = torch.TryInitializeDeviceType(DeviceType.CPU);
            return Native.Available();
        }
    }

    /// <summary>libtorch's process-wide switch for NNPACK (at::Context::userEnabledNNPACK).</summary>
    public static bool IsEnabled
    {
        get
        {
            _ = torch.TryInitializeDeviceType(DeviceType.CPU);
            return Native.UserEnabled(Native.GlobalContext());
        }
    }

    private static bool DisableIfUnavailable()
    {
        try
        {
            _ = torch.TryInitializeDeviceType(DeviceType.CPU);   // libtorch loaded by TorchSharp first
            if (Native.Available()) return false;
            Native.SetUserEnabled(Native.GlobalContext(), false);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>libtorch_cpu's exported C++ symbols (Itanium ABI).</summary>
    private static class Native
    {
        private const string Library = "libtorch_cpu";

        [DllImport(Library, EntryPoint = "_ZN2at13globalContextEv")]
        public static extern IntPtr GlobalContext();

        [DllImport(Library, EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
        public static extern void SetUserEnabled(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(Library, EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
        [return: MarshalAs(UnmanagedType.U1)]
        public static extern bool UserEnabled(IntPtr context);

        // at::native::_nnpack_available(): initializes NNPACK and says whether that worked.
        [DllImport(Library, EntryPoint = "_ZN2at6native17_nnpack_availableEv")]
        [return: MarshalAs(UnmanagedType.U1)]
        public static extern bool Available();
    }
}
