using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Torch;

/// <summary>
/// at::globalContext()'s process-wide kernel switches, which TorchSharp does not expose, reached through libtorch_cpu's
/// exported C++ symbols (Itanium ABI). Each access loads libtorch through TorchSharp first. A libtorch build without
/// a symbol throws <see cref="EntryPointNotFoundException"/>.
/// </summary>
internal static class LibTorchContext
{
    private const string Library = "libtorch_cpu";

    /// <summary>at::Context::userEnabledMkldnn: whether CPU kernels may use oneDNN.</summary>
    public static bool OneDnnEnabled
    {
        get => UserEnabledMkldnn(Context());
        set => SetUserEnabledMkldnn(Context(), value);
    }

    /// <summary>at::Context::userEnabledNNPACK: whether CPU convolutions may use NNPACK.</summary>
    public static bool NnpackEnabled
    {
        get => UserEnabledNnpack(Context());
        set => SetUserEnabledNnpack(Context(), value);
    }

    /// <summary>at::native::_nnpack_available: initializes NNPACK and says whether that worked on this CPU.</summary>
    public static bool NnpackAvailable
    {
        get
        {
            _ = torch.TryInitializeDeviceType(DeviceType.CPU);
            return NnpackInitializes();
        }
    }

    private static IntPtr Context()
    {
        _ = torch.TryInitializeDeviceType(DeviceType.CPU);
        return GlobalContext();
    }

    [DllImport(Library, EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport(Library, EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport(Library, EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledMkldnn(IntPtr context);

    [DllImport(Library, EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport(Library, EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledNnpack(IntPtr context);

    [DllImport(Library, EntryPoint = "_ZN2at6native17_nnpack_availableEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool NnpackInitializes();
}
