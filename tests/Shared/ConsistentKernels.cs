using System.Runtime.CompilerServices;
using DiscriminativeTokens.Torch;

namespace DiscriminativeTokens.Testing;

/// <summary>
/// Test processes run many models at once on several threads. Where this machine's oneDNN computes wrong convolution
/// gradients, the per-scope switch would make other threads' passes change kernels mid-test; deciding once, before
/// any test, gives every pass the same kernels, as a service process does at model load.
/// </summary>
internal static class ConsistentKernels
{
    [ModuleInitializer]
    internal static void Initialize() => LibTorchProcess.PrepareForModels();
}
