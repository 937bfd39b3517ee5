using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Orchestration.Backends;

/// <summary>
/// Copies between <see cref="TensorData"/> and TorchSharp tensors with one bulk copy of the raw float32 bytes each way
/// (no per-element conversion).
/// </summary>
public static class TensorDataTorch
{
    /// <summary>A new float32 CPU tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor ToTensor(TensorData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.ElementCount != data.Values.Length)
            throw new ArgumentException($"The tensor data has {data.Values.Length} values for shape " +
                                        $"[{string.Join(", ", data.Shape)}] ({data.ElementCount} expected).", nameof(data));
        var tensor = empty(data.Shape, ScalarType.Float32, CPU);
        MemoryMarshal.AsBytes(data.Values.AsSpan()).CopyTo(tensor.bytes);
        return tensor;
    }

    /// <summary>A copy of <paramref name="tensor"/> as float32 values in C order (moved to the CPU when needed).</summary>
    public static TensorData ToTensorData(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        var cpu = tensor.detach().to(ScalarType.Float32, CPU).contiguous();
        var values = new float[cpu.numel()];
        cpu.bytes.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        return new TensorData(values, tensor.shape);
    }

    /// <summary>The values of a tensor as a flat float32 array (moved to the CPU when needed).</summary>
    public static float[] ToArray(Tensor tensor) => ToTensorData(tensor).Values;
}
