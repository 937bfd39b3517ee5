using System.Globalization;
using System.Net;
using DiscriminativeTokens.Benchmarks.Echo;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// Round trip of an image-sized tensor through an in-process Kestrel gRPC server (HTTP/2 without TLS on 127.0.0.1)
/// and a real Grpc.Net.Client channel: image out as chunks, same-shape gradient back as chunks.
/// </summary>
internal static class GrpcBenchmark
{
    private const int Warmup = 20;
    private const int Repetitions = 100;

    public static async Task RunAsync()
    {
        // Client and server share this process. LibTorch's OpenMP workers spin for a while after each parallel op;
        // on the 2-core host this was written on, the in-process path below took 10-19 ms with 2 threads and about
        // 1 ms with 1. The gradient is one element-wise op, so one intra-op thread costs nothing.
        torch.set_num_threads(1);

        await using var server = await StartServerAsync();
        var address = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        using var channel = GrpcChannel.ForAddress(address);
        var client = new GradientEcho.GradientEchoClient(channel);

        // Explicit disposal, no dispose scope: scopes are per thread and awaits move between threads.
        using var image = torch.rand([1, 3, 512, 512], generator: new torch.Generator(42));
        var bytes = image.bytes.Length;

        // The same chunking, reassembly and gradient without a network in between: what gRPC adds is the difference.
        var local = Timing.Measure(
            () =>
            {
                using var gradient = LocalRoundTrip(image);
            },
            Warmup,
            Repetitions);

        var stats = await Timing.MeasureAsync(
            async () =>
            {
                using var gradient = await RoundTripAsync(client, image);
            },
            Warmup,
            Repetitions);

        using (var gradient = await RoundTripAsync(client, image))
        using (var expected = image.mul(-2f))
        {
            if (!gradient.Equals(expected))
            {
                throw new InvalidOperationException("The gradient that came back is not -2 x image.");
            }
        }

        var chunks = TensorChunker.ChunkCount(bytes);
        Console.WriteLine(HostInfo.Describe());
        Console.WriteLine(Invariant(
            $"gRPC round trip: 1x3x512x512 float32 image out, same-shape gradient back, {chunks} x 1 MiB chunks each way, h2c on 127.0.0.1, 1 LibTorch thread, median of {Repetitions} calls after {Warmup} warm-up"));
        Console.WriteLine();
        Console.WriteLine("| path | median ms | p10 ms | p90 ms | payload MB/s (both directions) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Row("gRPC round trip", stats, bytes);
        Row("same work in process, no gRPC", local, bytes);
        Console.WriteLine();
    }

    private static void Row(string name, Stats stats, int bytes) =>
        Console.WriteLine(Invariant(
            $"| {name} | {stats.Median * 1e3:0.00} | {stats.P10 * 1e3:0.00} | {stats.P90 * 1e3:0.00} | {2.0 * bytes / stats.Median / 1e6:0} |"));

    private static torch.Tensor LocalRoundTrip(torch.Tensor image)
    {
        using var sent = PooledTensorEncoding.Encode(image);
        using var received = Reassemble(sent.Split());
        using var gradient = received.mul(-2f);
        using var returned = PooledTensorEncoding.Encode(gradient);
        return Reassemble(returned.Split());
    }

    private static torch.Tensor Reassemble(IEnumerable<Contracts.Common.V1.TensorChunk> chunks)
    {
        using var assembler = new TorchTensorAssembler();
        foreach (var chunk in chunks)
        {
            assembler.Add(chunk);
        }

        return assembler.GetResult();
    }

    private static async Task<torch.Tensor> RoundTripAsync(GradientEcho.GradientEchoClient client, torch.Tensor image)
    {
        using var call = client.Gradient();
        using (var encoding = PooledTensorEncoding.Encode(image))
        {
            foreach (var chunk in encoding.Split())
            {
                await call.RequestStream.WriteAsync(chunk);
            }
        }

        await call.RequestStream.CompleteAsync();
        return await call.ResponseStream.ReadAllAsync().ReadTensorAsync();
    }

    private static async Task<WebApplication> StartServerAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Port 0: the OS picks a free port; Kestrel reports it through IServerAddressesFeature.
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();

        var app = builder.Build();
        app.MapGrpcService<GradientEchoService>();
        await app.StartAsync();
        return app;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
