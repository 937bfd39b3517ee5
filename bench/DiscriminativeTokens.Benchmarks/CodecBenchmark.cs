using System.Globalization;
using DiscriminativeTokens.Tensors;
using TorchSharp;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// Encode and decode throughput for one image-sized tensor, against a plain copy of the same bytes: the codec makes
/// exactly one copy each way, so the memory copy is its ceiling. The services encode images and gradients with
/// PooledTensorEncoding (one copy into a reused buffer); the plain Encode allocates a fresh array per message, which
/// on hosts with slow page faults and a small gen0 budget (sandboxes) pays for faults and LOH collections.
/// </summary>
internal static class CodecBenchmark
{
    private const int Warmup = 50;
    private const int Repetitions = 400;

    public static void Run()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.rand([1, 3, 512, 512], generator: new torch.Generator(42));
        var bytes = image.bytes.Length;
        var destination = GC.AllocateUninitializedArray<byte>(bytes);
        var message = TensorCodec.Encode(image);

        var copy = Timing.Measure(() => image.bytes.CopyTo(destination), Warmup, Repetitions);
        // What encode cannot avoid: each message owns a fresh array, which the GC must supply and later reclaim.
        var freshCopy = Timing.Measure(() => image.bytes.CopyTo(GC.AllocateUninitializedArray<byte>(bytes)), Warmup, Repetitions);
        var encode = Timing.Measure(() => TensorCodec.Encode(image), Warmup, Repetitions);
        var encodePooled = Timing.Measure(() =>
        {
            using var encoding = PooledTensorEncoding.Encode(image);
            GC.KeepAlive(encoding.ToMessage());
        }, Warmup, Repetitions);
        var decode = Timing.Measure(() => TensorCodec.Decode(message).Dispose(), Warmup, Repetitions);

        using (var decoded = TensorCodec.Decode(message))
        {
            if (!decoded.Equals(image))
            {
                throw new InvalidOperationException("Decoded tensor differs from the original.");
            }
        }

        Console.WriteLine(HostInfo.Describe());
        Console.WriteLine(Invariant(
            $"Codec: 1x3x512x512 float32 ({bytes / (1024.0 * 1024.0):0.0} MiB), median of {Repetitions} after {Warmup} warm-up"));
        Console.WriteLine();
        Console.WriteLine("| operation | median ms | GB/s | vs memory copy |");
        Console.WriteLine("|---|---:|---:|---:|");
        Row("memory copy (Span.CopyTo, preallocated array)", copy, bytes, copy);
        Row("copy into a new managed array", freshCopy, bytes, copy);
        Row("encode, pooled buffer (services' path)", encodePooled, bytes, copy);
        Row("encode, new array (TensorCodec.Encode)", encode, bytes, copy);
        Row("decode (Tensor -> TorchSharp)", decode, bytes, copy);
        Console.WriteLine();
    }

    private static void Row(string name, Stats stats, int bytes, Stats copy) =>
        Console.WriteLine(Invariant(
            $"| {name} | {stats.Median * 1e3:0.000} | {bytes / stats.Median / 1e9:0.00} | {copy.Median / stats.Median:0.00} |"));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
