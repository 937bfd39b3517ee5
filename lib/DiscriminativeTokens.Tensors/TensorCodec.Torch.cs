using Google.Protobuf;

namespace DiscriminativeTokens.Tensors;

/// <summary>Converts between wire <see cref="WireTensor"/> messages and TorchSharp tensors or .NET arrays.</summary>
public static partial class TensorCodec
{
    /// <summary>
    /// Encodes a TorchSharp tensor. Its bytes are copied once, into an array the message then wraps without a second
    /// copy. A tensor on another device or not contiguous is first made contiguous on its device and moved to the CPU.
    /// </summary>
    public static WireTensor Encode(TorchTensor tensor, TensorLimits? limits = null)
    {
        var data = EncodeBytes(tensor, limits, out var layout);
        var message = new WireTensor { Dtype = layout.DType, Data = UnsafeByteOperations.UnsafeWrap(data) };
        message.Shape.AddRange(layout.ShapeArray);
        return message;
    }

    /// <summary>
    /// Decodes a message into a new tensor on <paramref name="device"/> (default CPU). The data is copied once into
    /// the tensor's memory, then moved to the device if it is not the CPU. Throws <see cref="TensorFormatException"/>
    /// for a malformed message.
    /// </summary>
    public static TorchTensor Decode(WireTensor message, torch.Device? device = null, TensorLimits? limits = null)
    {
        HostByteOrder.EnsureLittleEndian();
        var layout = TensorLayout.FromMessage(message, limits);
        var tensor = torch.empty(layout.ShapeArray, layout.DType.ToScalarType());
        try
        {
            message.Data.Span.CopyTo(tensor.bytes);
            return MoveTo(tensor, device);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>The tensor's bytes in a new, uninitialized-then-filled array (the codec's single copy).</summary>
    internal static byte[] EncodeBytes(TorchTensor tensor, TensorLimits? limits, out TensorLayout layout)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        HostByteOrder.EnsureLittleEndian();
        layout = TensorLayout.Create(tensor.dtype.ToDType(), tensor.shape, limits);
        var data = GC.AllocateUninitializedArray<byte>(layout.ByteLength);
        CopyBytes(tensor, data);
        return data;
    }

    /// <summary>Copies the tensor's bytes (C order, little-endian) into <paramref name="data"/>, which has exactly their length.</summary>
    internal static void CopyBytes(TorchTensor tensor, Span<byte> data)
    {
        if (data.Length == 0)
        {
            return;
        }

        // Contiguous first, on the tensor's own device (a GPU does the strided gather faster), then to the CPU.
        TorchTensor? contiguous = null;
        TorchTensor? onCpu = null;
        try
        {
            var source = tensor;
            if (!source.is_contiguous())
            {
                source = contiguous = source.contiguous();
            }

            if (source.device_type != DeviceType.CPU)
            {
                source = onCpu = source.cpu();
            }

            source.bytes.CopyTo(data);
        }
        finally
        {
            onCpu?.Dispose();
            contiguous?.Dispose();
        }
    }

    /// <summary>Returns <paramref name="tensor"/> itself for the CPU, else a copy on the device (disposing the CPU tensor).</summary>
    internal static TorchTensor MoveTo(TorchTensor tensor, torch.Device? device)
    {
        if (device is null || device.type == DeviceType.CPU)
        {
            return tensor;
        }

        var moved = tensor.to(device);
        tensor.Dispose();
        return moved;
    }
}
