using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using static TorchSharp.torch;

namespace DiscriminativeTokens.DiffusionService.Tests;

/// <summary>A finished Generate call as a client sees it: every non-image event in order, and the reassembled images.</summary>
public sealed class GenerateOutcome : IDisposable
{
    public List<GenerateEvent> Events { get; } = [];
    public List<(int Index, ulong Seed, Tensor Image, int Chunks)> Images { get; } = [];

    public IEnumerable<Progress> Progress => Events.Where(e => e.EventCase == GenerateEvent.EventOneofCase.Progress).Select(e => e.Progress);
    public IEnumerable<string> Warnings => Events.Where(e => e.EventCase == GenerateEvent.EventOneofCase.Warning).Select(e => e.Warning.Message);

    public void Dispose()
    {
        foreach (var image in Images) image.Image.Dispose();
    }
}

public static class GenerateCalls
{
    public static async Task<GenerateOutcome> RunAsync(
        Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient client, GenerateRequest request, int timeoutSeconds = 120)
    {
        var outcome = new GenerateOutcome();
        using var call = client.Generate(request, deadline: DateTime.UtcNow.AddSeconds(timeoutSeconds));
        TorchTensorAssembler? assembler = null;
        int index = -1, chunks = 0;
        ulong seed = 0;
        try
        {
            await foreach (var e in call.ResponseStream.ReadAllAsync())
            {
                if (e.EventCase != GenerateEvent.EventOneofCase.Image)
                {
                    Assert.Null(assembler); // an image's chunks arrive contiguously
                    outcome.Events.Add(e);
                    continue;
                }
                if (assembler is null)
                {
                    assembler = new TorchTensorAssembler();
                    (index, seed, chunks) = (e.Image.ImageIndex, e.Image.Seed, 0);
                }
                Assert.Equal(index, e.Image.ImageIndex);
                Assert.Equal(seed, e.Image.Seed);
                assembler.Add(e.Image.Chunk);
                chunks++;
                if (assembler.IsComplete)
                {
                    outcome.Images.Add((index, seed, assembler.GetResult().DetachFromDisposeScope(), chunks));
                    assembler.Dispose();
                    assembler = null;
                }
            }
            Assert.Null(assembler);
            return outcome;
        }
        catch
        {
            assembler?.Dispose();
            outcome.Dispose();
            throw;
        }
    }
}
