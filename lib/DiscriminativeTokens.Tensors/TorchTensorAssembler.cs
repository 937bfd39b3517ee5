namespace DiscriminativeTokens.Tensors;

/// <summary>
/// Reassembles chunks straight into a TorchSharp tensor's memory (allocated on the CPU when the header arrives),
/// moved to <paramref name="device"/> when complete.
/// </summary>
public sealed class TorchTensorAssembler(torch.Device? device = null, TensorLimits? limits = null)
    : TensorChunkAssembler<TorchTensor>(limits)
{
    private TorchTensor? _tensor;

    protected override Span<byte> Destination => _tensor is null ? default : _tensor.bytes;

    // Chunks may arrive on different threads (async streams) while dispose scopes are per thread, so the tensor
    // belongs to no scope until it is handed out, and then joins the caller's current scope like any new tensor.
    protected override void AllocateDestination(TensorLayout layout) =>
        _tensor = torch.empty(layout.ShapeArray, layout.DType.ToScalarType()).DetachFromDisposeScope();

    protected override TorchTensor TakeResult(TensorLayout layout)
    {
        var tensor = _tensor!;
        _tensor = null;
        torch.CurrentDisposeScope?.Attach(tensor);
        return TensorCodec.MoveTo(tensor, device);
    }

    protected override void ReleaseDestination()
    {
        _tensor?.Dispose();
        _tensor = null;
    }
}
