namespace DiscriminativeTokens.Torch;

/// <summary>
/// The process-wide LibTorch settings every process that runs models makes before its first pass (model loading does
/// it): the same, correct convolution kernels for every pass (<see cref="OneDnnConvolutionBackward"/>), no futile
/// NNPACK attempts (<see cref="Nnpack"/>), and freed tensor memory kept for reuse (<see cref="MallocTuning"/>). Each
/// is decided once per process; later calls do nothing.
/// </summary>
public static class LibTorchProcess
{
    public static void PrepareForModels()
    {
        OneDnnConvolutionBackward.AvoidProcessWideIfDefective();
        Nnpack.AvoidWhereUnsupported();
        MallocTuning.KeepFreedMemoryWhileWorking();
    }
}
