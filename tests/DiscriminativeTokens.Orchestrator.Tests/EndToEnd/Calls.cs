using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;

namespace DiscriminativeTokens.Orchestrator.Tests.EndToEnd;

/// <summary>Client-side helpers of the end-to-end tests: watching jobs, reading tensors and generated images.</summary>
public static class Calls
{
    public static DateTime UnaryDeadline() => DateTime.UtcNow.AddSeconds(30);

    /// <summary>
    /// Reads a job's events after <paramref name="afterSequence"/> until the stream ends with the job, or until
    /// <paramref name="stopAfter"/> returns true for an event (that event included). The watch has no deadline of its
    /// own, as a client's would not; <paramref name="timeout"/> only keeps a hung test from hanging the run.
    /// </summary>
    public static async Task<List<JobEvent>> WatchAsync(OrchestratorService.OrchestratorServiceClient client, string jobId,
        ulong afterSequence = 0, Func<JobEvent, bool>? stopAfter = null, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(10));
        var events = new List<JobEvent>();
        using var call = client.WatchJob(new WatchJobRequest { JobId = jobId, AfterSequence = afterSequence },
                                         cancellationToken: cts.Token);
        await foreach (var e in call.ResponseStream.ReadAllAsync(cts.Token))
        {
            events.Add(e);
            if (stopAfter?.Invoke(e) == true) break;
        }
        return events;
    }

    public static float[] Floats(WireTensor tensor) => TensorCodec.DecodeArray<float>(tensor).Values;

    /// <summary>The images of a Generate-like stream (DiffusionService.Generate, OrchestratorService.GenerateWithToken)
    /// as float arrays, in order, with their seeds.</summary>
    public static async Task<List<(ulong Seed, float[] Pixels, long[] Shape)>> ImagesAsync(AsyncServerStreamingCall<GenerateEvent> call)
    {
        using (call)
        {
            var images = new List<(ulong, float[], long[])>();
            TensorMessageAssembler? assembler = null;
            ulong seed = 0;
            bool completed = false;
            try
            {
                await foreach (var e in call.ResponseStream.ReadAllAsync())
                {
                    if (e.EventCase == GenerateEvent.EventOneofCase.Completed) completed = true;
                    if (e.EventCase != GenerateEvent.EventOneofCase.Image) continue;
                    if (assembler is null)
                    {
                        assembler = new TensorMessageAssembler();
                        seed = e.Image.Seed;
                    }
                    assembler.Add(e.Image.Chunk);
                    if (!assembler.IsComplete) continue;
                    var (values, shape) = TensorCodec.DecodeArray<float>(assembler.GetResult());
                    images.Add((seed, values, shape));
                    assembler.Dispose();
                    assembler = null;
                }
            }
            finally
            {
                assembler?.Dispose();
            }
            Assert.True(completed, "The generation stream ended without its completed event.");
            return images;
        }
    }

    /// <summary>Largest |a - b| over two equally long arrays.</summary>
    public static double MaxAbsDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    public static double MaxAbs(float[] a) => a.Max(v => Math.Abs((double)v));

    /// <summary>True when both arrays hold the same float bit patterns (stricter than ==: -0 and 0 differ).</summary>
    public static bool BitIdentical(float[] a, float[] b) =>
        a.Length == b.Length && a.Select(BitConverter.SingleToInt32Bits).SequenceEqual(b.Select(BitConverter.SingleToInt32Bits));
}
