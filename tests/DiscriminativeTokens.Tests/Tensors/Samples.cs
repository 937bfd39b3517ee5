using System.Runtime.InteropServices;
using DiscriminativeTokens.Contracts.Common.V1;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace DiscriminativeTokens.Tests.Tensors;

/// <summary>
/// Six distinctive values per dtype (extremes, signed zero, subnormals, infinities, NaN) with their expected wire
/// bytes computed independently of the codec, so a wrong byte order, width or conversion shows up.
/// </summary>
internal static class Samples
{
    public static readonly long[] Shape = [2, 3];

    public static readonly float[] Float32 = [0f, -0f, 1.5f, float.MaxValue, float.Epsilon, float.NaN];
    public static readonly Half[] Float16 = [(Half)0.5f, -(Half)3f, Half.MaxValue, Half.Epsilon, Half.NegativeInfinity, Half.NaN];
    public static readonly double[] Float64 = [Math.PI, -0d, double.MaxValue, double.Epsilon, double.PositiveInfinity, double.NaN];
    public static readonly long[] Int64 = [long.MinValue, long.MaxValue, -1, 0, 1234567890123, 42];
    public static readonly int[] Int32 = [int.MinValue, int.MaxValue, -1, 0, 123456789, 42];
    public static readonly short[] Int16 = [short.MinValue, short.MaxValue, -1, 0, 12345, 42];
    public static readonly sbyte[] Int8 = [sbyte.MinValue, sbyte.MaxValue, -1, 0, 12, 42];
    public static readonly byte[] Uint8 = [0, 1, 127, 128, 254, 255];
    public static readonly bool[] Bool = [true, false, false, true, true, false];

    /// <summary>bfloat16 bit patterns (max, -2, 1, smallest normal, a subnormal, +inf); all exact as float32.</summary>
    public static readonly ushort[] Bfloat16Bits = [0x7F7F, 0xC000, 0x3F80, 0x0080, 0x0001, 0x7F80];

    public static IEnumerable<object[]> AllDTypes() => DTypeRows(includeBfloat16: true);

    public static IEnumerable<object[]> ArrayDTypes() => DTypeRows(includeBfloat16: false);

    /// <summary>The expected little-endian bytes of the sample for <paramref name="dtype"/>.</summary>
    public static byte[] ExpectedBytes(DType dtype) => dtype switch
    {
        DType.Float32 => LittleEndian(Float32, 4, v => BitConverter.SingleToUInt32Bits(v)),
        DType.Float16 => LittleEndian(Float16, 2, v => BitConverter.HalfToUInt16Bits(v)),
        DType.Bfloat16 => LittleEndian(Bfloat16Bits, 2, v => v),
        DType.Float64 => LittleEndian(Float64, 8, v => BitConverter.DoubleToUInt64Bits(v)),
        DType.Int64 => LittleEndian(Int64, 8, v => (ulong)v),
        DType.Int32 => LittleEndian(Int32, 4, v => (uint)v),
        DType.Int16 => LittleEndian(Int16, 2, v => (ushort)v),
        DType.Int8 => LittleEndian(Int8, 1, v => (byte)v),
        DType.Uint8 => LittleEndian(Uint8, 1, v => v),
        DType.Bool => LittleEndian(Bool, 1, v => v ? 1UL : 0UL),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>A [2, 3] TorchSharp tensor holding the sample, built from .NET arrays (not by the codec).</summary>
    public static TorchTensor Torch(DType dtype) => dtype switch
    {
        DType.Float32 => torch.tensor(Float32, Shape),
        DType.Float16 => torch.tensor(Float16, Shape),
        // float32 values whose low 16 bits are zero convert to bfloat16 exactly.
        DType.Bfloat16 => torch.tensor(Bfloat16Bits.Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray(), Shape)
            .to(torch.ScalarType.BFloat16),
        DType.Float64 => torch.tensor(Float64, Shape),
        DType.Int64 => torch.tensor(Int64, Shape),
        DType.Int32 => torch.tensor(Int32, Shape),
        DType.Int16 => torch.tensor(Int16, Shape),
        DType.Int8 => torch.tensor(Int8, Shape),
        DType.Uint8 => torch.tensor(Uint8, Shape),
        DType.Bool => torch.tensor(Bool, Shape),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Bytes of a tensor read through TorchSharp's typed accessor (independent of <c>tensor.bytes</c>).</summary>
    public static byte[] TypedBytes(TorchTensor tensor) => tensor.dtype switch
    {
        torch.ScalarType.Float32 => Bytes(tensor.data<float>().ToArray()),
        torch.ScalarType.Float16 => Bytes(tensor.data<Half>().ToArray()),
        torch.ScalarType.BFloat16 => LittleEndian(tensor.to(torch.ScalarType.Float32).data<float>().ToArray(), 2,
            v => BitConverter.SingleToUInt32Bits(v) >> 16),
        torch.ScalarType.Float64 => Bytes(tensor.data<double>().ToArray()),
        torch.ScalarType.Int64 => Bytes(tensor.data<long>().ToArray()),
        torch.ScalarType.Int32 => Bytes(tensor.data<int>().ToArray()),
        torch.ScalarType.Int16 => Bytes(tensor.data<short>().ToArray()),
        torch.ScalarType.Int8 => Bytes(tensor.data<sbyte>().ToArray()),
        torch.ScalarType.Byte => tensor.data<byte>().ToArray(),
        torch.ScalarType.Bool => Bytes(tensor.data<bool>().ToArray()),
        _ => throw new ArgumentOutOfRangeException(nameof(tensor)),
    };

    public static byte[] Bytes<T>(T[] values)
        where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static IEnumerable<object[]> DTypeRows(bool includeBfloat16) =>
        Enum.GetValues<DType>()
            .Where(d => d != DType.Unspecified && (includeBfloat16 || d != DType.Bfloat16))
            .Select(d => new object[] { d });

    // Written byte by byte with shifts, so the expectation does not depend on the host's byte order.
    private static byte[] LittleEndian<T>(T[] values, int width, Func<T, ulong> bits)
    {
        var bytes = new byte[values.Length * width];
        for (var i = 0; i < values.Length; i++)
        {
            var v = bits(values[i]);
            for (var b = 0; b < width; b++)
            {
                bytes[(i * width) + b] = (byte)(v >> (8 * b));
            }
        }

        return bytes;
    }
}
