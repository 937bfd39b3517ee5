using DiscriminativeTokens.Diffusion.Models;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Training;

/// <summary>
/// The token-gradient sampler beyond the run.py fixture: other schedulers and loop styles, every K, frozen weights,
/// memory kept per mode, no leaks, and refusals.
/// </summary>
[Collection(NativeHeapMeasurements.Name)]
public sealed class TokenGradientBehaviourTests(DctReference reference, ITestOutputHelper output) : IClassFixture<DctReference>
{
    private TokenGradientSampler Sampler => reference.Sampler;

    /// <summary>A fixed dLoss/dImage for runs the fixture has none for.</summary>
    private static Tensor ImageGradient(long seed = 11)
    {
        using var generator = new Generator((ulong)seed);
        return randn([1, 3, 32, 32], generator: generator) * 1e-3;
    }

    private TokenGradient Run(TokenGradientOptions options, Tensor imageGradient, Tensor? vector = null)
    {
        using var forward = Sampler.Forward(options, vector ?? reference.PlaceholderInit);
        return Sampler.Backward(forward, imageGradient);
    }

    private static double MaxAbs(Tensor t) => TokenGradientParityTests.MaxAbs(t);

    private static double RelativeDifference(Tensor actual, Tensor expected) =>
        TokenGradientParityTests.MaxAbsError(actual, expected) / MaxAbs(expected);

    [Theory]
    [InlineData("Reference")]
    [InlineData("Full")]
    public void ProperLoopWithEulerGivesFiniteNonzeroGradientsInBothMemoryModes(string mode)
    {
        using var scope = NewDisposeScope();
        var options = reference.Options("partial", GradientMemoryMode.KeepGraph) with
        {
            Scheduler = "euler",
            LoopStyle = SamplingLoopStyle.Proper,
            Padding = PromptPaddingMode.MaxLength,
            GradientMode = mode == "Full" ? GradientMode.Full : GradientMode.Reference,
        };
        var imageGradient = ImageGradient();
        using var kept = Run(options, imageGradient);
        using var recomputed = Run(options with { MemoryMode = GradientMemoryMode.Recompute }, imageGradient);

        Assert.Equal(mode == "Full" ? 10 : 1, kept.DifferentiatedCalls);
        Assert.True(kept.Gradient.isfinite().all().item<bool>());
        Assert.True(MaxAbs(kept.Gradient) > 0);
        double difference = RelativeDifference(recomputed.Gradient, kept.Gradient);
        output.WriteLine($"euler/{mode}: max |dL/dv| {MaxAbs(kept.Gradient):E3}, Recompute vs KeepGraph {difference:E2} relative");
        Assert.True(difference <= 1e-5, $"memory modes disagree by {difference:E2}");

        // Euler's scalings are not identities: the proper loop samples a different image than run.py's loop.
        using var proper = Sampler.Forward(options, reference.PlaceholderInit);
        using var runPy = Sampler.Forward(options with { LoopStyle = SamplingLoopStyle.Reference }, reference.PlaceholderInit);
        Assert.True(TokenGradientParityTests.MaxAbsError(proper.Image, runPy.Image) > 1e-3);
    }

    [Fact]
    public void ForPndmBothLoopStylesSampleTheSameImage()
    {
        using var scope = NewDisposeScope();
        var options = reference.Options("partial", GradientMemoryMode.Recompute);
        using var runPy = Sampler.Forward(options, reference.PlaceholderInit);
        using var proper = Sampler.Forward(options with { LoopStyle = SamplingLoopStyle.Proper }, reference.PlaceholderInit);
        Assert.True(TokenGradientParityTests.MaxAbsError(proper.Image, runPy.Image) <= 1e-5);
    }

    [Fact]
    public void LastKForEveryKAndFullAgreeWhereTheyMust()
    {
        using var scope = NewDisposeScope();
        var options = reference.Options("full", GradientMemoryMode.Recompute);
        var imageGradient = reference.File.Read("conv/full/grad_image");
        using var full = Run(options, imageGradient);
        using var referenceMode = Run(options with { GradientMode = GradientMode.Reference }, imageGradient);
        Assert.Equal(11, full.DifferentiatedCalls);

        var byK = new List<Tensor>();
        for (int k = 1; k <= 11; k++)
        {
            using var forward = Sampler.Forward(options with { GradientMode = GradientMode.LastK(k) }, reference.PlaceholderInit);
            Assert.Equal(Enumerable.Range(0, 11).Select(call => call >= 11 - k), forward.CallsWithGradient);
            using var gradient = Sampler.Backward(forward, imageGradient);
            Assert.Equal(k, gradient.DifferentiatedCalls);
            byK.Add(gradient.Gradient.clone());
            output.WriteLine($"LastK({k}): max |dL/dv| {MaxAbs(gradient.Gradient):E3}");
        }

        Assert.True(RelativeDifference(byK[10], full.Gradient) <= 1e-6, "LastK(all) differs from Full");
        Assert.True(RelativeDifference(byK[1], referenceMode.Gradient) <= 1e-6, "LastK(2) differs from the PNDM reference mode");
        Assert.True(RelativeDifference(byK[0], full.Gradient) > 0.1, "K = 1 and K = all should not agree");
        using var beyond = Run(options with { GradientMode = GradientMode.LastK(50) }, imageGradient);
        Assert.Equal(11, beyond.DifferentiatedCalls);
        Assert.True(RelativeDifference(beyond.Gradient, full.Gradient) <= 1e-6);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientMode.LastK(0));
    }

    [Fact]
    public void DdimReferenceModeDifferentiatesOnlyTheLastCall()
    {
        using var scope = NewDisposeScope();
        var options = reference.Options("partial", GradientMemoryMode.Recompute) with { Scheduler = "ddim" };
        using var forward = Sampler.Forward(options, reference.PlaceholderInit);
        Assert.Equal("DDIMScheduler", forward.SchedulerName);
        Assert.Equal(Enumerable.Range(0, 10).Select(call => call == 9), forward.CallsWithGradient);
        using var gradient = Sampler.Backward(forward, ImageGradient());
        Assert.Equal(1, gradient.DifferentiatedCalls);
        Assert.True(MaxAbs(gradient.Gradient) > 0);
    }

    /// <summary>At scale 1 diffusers runs the conditional branch alone; u + w·(c − u) just above 1 is nearly c.</summary>
    [Fact]
    public void GuidanceAtOneRunsTheConditionalBranchAlone()
    {
        using var scope = NewDisposeScope();
        var options = reference.Options("partial", GradientMemoryMode.Recompute) with { GuidanceScale = 1.0 };
        using var conditionalOnly = Sampler.Forward(options, reference.PlaceholderInit);
        using var guided = Sampler.Forward(options with { GuidanceScale = 1.0 + 1e-6 }, reference.PlaceholderInit);
        using var stronglyGuided = Sampler.Forward(options with { GuidanceScale = 7.0 }, reference.PlaceholderInit);
        Assert.True(TokenGradientParityTests.MaxAbsError(conditionalOnly.Image, guided.Image) <= 1e-4);
        Assert.True(TokenGradientParityTests.MaxAbsError(conditionalOnly.Image, stronglyGuided.Image) > 1e-2);
        using var gradient = Sampler.Backward(conditionalOnly, ImageGradient());
        Assert.True(gradient.Gradient.isfinite().all().item<bool>() && MaxAbs(gradient.Gradient) > 0);
    }

    [Theory]
    [InlineData(GradientMemoryMode.KeepGraph)]
    [InlineData(GradientMemoryMode.Recompute)]
    public void WeightsStayUnchangedAndGetNoGradients(GradientMemoryMode memory)
    {
        using var scope = NewDisposeScope();
        var model = reference.Model;
        string[] before = [ModuleWeights.Sha256(model.TextEncoder), ModuleWeights.Sha256(model.Unet), ModuleWeights.Sha256(model.Vae)];
        using (Run(reference.Options("full", memory), reference.File.Read("conv/full/grad_image"))) { }
        string[] after = [ModuleWeights.Sha256(model.TextEncoder), ModuleWeights.Sha256(model.Unet), ModuleWeights.Sha256(model.Vae)];
        Assert.Equal(before, after);
        foreach (var module in new nn.Module[] { model.TextEncoder, model.Unet, model.Vae })
            foreach (var (name, parameter) in module.named_parameters())
            {
                Assert.False(parameter.requires_grad, name);
                Assert.Null(parameter.grad);
            }
    }

    /// <summary>
    /// What a live forward handle keeps, in TorchSharp tensors and C-heap bytes (the autograd graph of KeepGraph has no
    /// TorchSharp tensors, so only bytes compare the modes). Several handles are alive at once and the bytes are averaged
    /// over all but the first, so caches libtorch fills once and allocator noise hardly count. Then nothing leaks: over repeated rounds of forward, backward and
    /// dispose the live tensor count comes back exactly and the heap grows by less than one handle's graph.
    /// </summary>
    [Theory]
    [InlineData("partial")]
    [InlineData("full")]
    public void RecomputeRetainsLittleAndNothingLeaks(string mode)
    {
        var imageGradient = reference.File.Read($"conv/{mode}/grad_image");
        var statistics = DisposeScopeManager.Statistics;
        var retained = new Dictionary<GradientMemoryMode, (long Tensors, long Bytes)>();
        foreach (var memory in new[] { GradientMemoryMode.KeepGraph, GradientMemoryMode.Recompute })
        {
            var options = reference.Options(mode, memory);
            using (Run(options, imageGradient)) { }   // warm-up: lazily created native state is not a leak

            long liveBefore = statistics.ThreadTotalLiveCount;
            var handles = new List<TokenGradientForward> { Sampler.Forward(options, reference.PlaceholderInit) };
            long tensors = statistics.ThreadTotalLiveCount - liveBefore;
            long heapWithOne = SettledHeapBytes();
            int count = memory == GradientMemoryMode.KeepGraph ? 3 : 33;
            while (handles.Count < count)
                handles.Add(Sampler.Forward(options, reference.PlaceholderInit));
            long bytes = ((SettledHeapBytes()) - heapWithOne) / (count - 1);
            retained[memory] = (tensors, bytes);
            foreach (var handle in handles)
            {
                using (Sampler.Backward(handle, imageGradient)) { }
                handle.Dispose();
            }
            Assert.Equal(liveBefore, statistics.ThreadTotalLiveCount);

            long heapBefore = SettledHeapBytes();
            for (int round = 0; round < 3; round++)
            {
                using var forward = Sampler.Forward(options, reference.PlaceholderInit);
                using (var gradient = Sampler.Backward(forward, imageGradient))
                    Assert.True(MaxAbs(gradient.Gradient) > 0);
                if (memory == GradientMemoryMode.Recompute)
                    using (Sampler.Backward(forward, imageGradient)) { }   // Recompute handles may backpropagate again
            }
            Assert.Equal(liveBefore, statistics.ThreadTotalLiveCount);
            long growth = (SettledHeapBytes()) - heapBefore;
            output.WriteLine($"{mode}/{memory}: a live forward handle keeps {tensors} tensors and {bytes / 1024.0:F1} KiB of C heap " +
                             $"(mean over {count - 1} handles); " +
                             $"three more rounds changed the heap by {growth / 1024.0:F1} KiB");
            if (memory == GradientMemoryMode.Recompute && NativeHeap.InUseBytes() is not null)
                Assert.True(growth < retained[GradientMemoryMode.KeepGraph].Bytes, $"the heap grew by {growth} bytes over three rounds");
        }

        if (NativeHeap.InUseBytes() is null) return;
        var (_, keptBytes) = retained[GradientMemoryMode.KeepGraph];
        var (recomputeTensors, recomputeBytes) = retained[GradientMemoryMode.Recompute];
        // Recompute keeps the vector, one latent, the scheduler's few history latents, the final latents and the image.
        Assert.True(recomputeTensors <= 10, $"Recompute keeps {recomputeTensors} tensors");
        Assert.True(recomputeBytes < 256 * 1024, $"Recompute keeps {recomputeBytes} bytes");
        Assert.True(recomputeBytes * 20 < keptBytes, $"Recompute keeps {recomputeBytes} bytes, KeepGraph {keptBytes}");
    }

    /// <summary>The C heap in use once finalizers of collected TorchSharp objects have freed their native memory.</summary>
    private static long SettledHeapBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return NativeHeap.InUseBytes() ?? 0;
    }

    [Fact]
    public void TheHandleOwnsCopiesOfItsInputs()
    {
        using var scope = NewDisposeScope();
        var options = reference.Options("partial", GradientMemoryMode.Recompute);
        var imageGradient = reference.File.Read("conv/partial/grad_image");
        using var expected = Run(options, imageGradient);

        var vector = reference.PlaceholderInit.clone();
        var latents = reference.InitialLatents.clone();
        using var forward = Sampler.Forward(options with { InitialLatents = latents }, vector);
        vector.add_(1.0);         // e.g. the optimizer steps while a session is still open
        latents.mul_(2.0);
        using var gradient = Sampler.Backward(forward, imageGradient);
        Assert.Equal(0.0, TokenGradientParityTests.MaxAbsError(gradient.Gradient, expected.Gradient));
    }

    [Fact]
    public void SeededNoiseIsACpuGeneratorDraw()
    {
        using var scope = NewDisposeScope();
        var options = reference.Options("partial", GradientMemoryMode.Recompute) with { InitialLatents = null, Seed = 35 };
        using var seeded = Sampler.Forward(options, reference.PlaceholderInit);
        using var generator = new Generator(35, CPU);
        var noise = randn([1, 4, 16, 16], generator: generator);
        using var explicitNoise = Sampler.Forward(options with { InitialLatents = noise }, reference.PlaceholderInit);
        Assert.Equal(0.0, TokenGradientParityTests.MaxAbsError(seeded.Image, explicitNoise.Image));

        using var larger = Sampler.Forward(options with { Height = 48, Width = 40 }, reference.PlaceholderInit);
        Assert.Equal([1L, 3, 48, 40], larger.Image.shape);
        Assert.Throws<ArgumentException>(() => Sampler.Forward(options with { Height = 33 }, reference.PlaceholderInit));
        Assert.Throws<ArgumentException>(() => Sampler.Forward(options with { InitialLatents = noise, Width = 64 }, reference.PlaceholderInit));
    }

    [Fact]
    public void MisuseIsRefusedClearly()
    {
        using var scope = NewDisposeScope();
        var options = reference.Options("partial", GradientMemoryMode.KeepGraph);
        var imageGradient = reference.File.Read("conv/partial/grad_image");

        var noPlaceholder = Assert.Throws<ArgumentException>(() =>
            Sampler.Forward(options with { Prompt = "A photo of a cat" }, reference.PlaceholderInit));
        Assert.Contains("'newclas'", noPlaceholder.Message);
        Assert.Throws<ArgumentException>(() => Sampler.Forward(options, zeros(7)));

        var forward = Sampler.Forward(options, reference.PlaceholderInit);
        Assert.Throws<ArgumentException>(() => Sampler.Backward(forward, zeros(1, 3, 16, 16)));
        using (Sampler.Backward(forward, imageGradient)) { }
        var again = Assert.Throws<InvalidOperationException>(() => Sampler.Backward(forward, imageGradient));
        Assert.Contains("Recompute", again.Message);
        Assert.Equal([1L, 3, 32, 32], forward.Image.shape);   // the image outlives the graph
        forward.Dispose();
        Assert.Throws<ObjectDisposedException>(() => forward.Image);
        Assert.Throws<ObjectDisposedException>(() => Sampler.Backward(forward, imageGradient));
    }
}
