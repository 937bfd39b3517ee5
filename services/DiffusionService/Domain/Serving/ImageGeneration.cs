using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Diffusion.Pipelines;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Serving;

/// <summary>A checked Generate request: <see cref="Count"/> images with seeds Seed, Seed + 1, ...</summary>
public sealed record GenerationRequest(ResolvedSampling Sampling, LearnedToken? Token, int Count);

/// <summary>What a generation reports, in order, on the thread that runs it.</summary>
public interface IGenerationObserver
{
    /// <summary>Non-fatal remarks (e.g. the prompt was truncated), before the first image.</summary>
    void OnWarning(string message);

    void OnProgress(int imageIndex, DenoisingProgress progress);

    /// <summary>A finished image [1, 3, H, W] float32 in [0, 1]; borrowed for the call only.</summary>
    void OnImage(int imageIndex, long seed, Tensor image);
}

/// <summary>
/// Generates a request's images one after another (image i from seed + i, exactly what the batched pipeline makes for
/// it), so each can be sent as soon as it is decoded and memory does not grow with the number of images. Runs
/// synchronously on the calling thread, which should be a dedicated one (TorchSharp's dispose scopes are per thread).
/// </summary>
public sealed class ImageGeneration(StableDiffusionModel model)
{
    private readonly TextToImagePipeline _pipeline = new(model);

    public void Run(GenerationRequest request, IGenerationObserver observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(observer);
        var sampling = request.Sampling;
        for (int i = 0; i < request.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int index = i;
            long seed = unchecked(sampling.Seed + i);
            var options = new TextToImageOptions
            {
                Prompt = sampling.Prompt,
                NegativePrompt = sampling.NegativePrompt,
                Seed = seed,
                Steps = sampling.Steps,
                GuidanceScale = sampling.GuidanceScale,
                Width = sampling.Width,
                Height = sampling.Height,
                Scheduler = sampling.Scheduler,
                Padding = sampling.Padding,
                LearnedToken = request.Token,
                ImageCount = 1,
                Progress = new SynchronousProgress(p => observer.OnProgress(index, p)),
            };
            TextToImageResult result;
            try
            {
                result = _pipeline.Generate(options, cancellationToken);
            }
            catch (ArgumentException e)
            {
                // The checks before the run cover the known cases; what the pipeline still refuses is the request's fault.
                throw RequestRejectedException.Invalid(e.Message);
            }
            using (result)
            {
                if (i == 0)
                    foreach (string warning in result.Warnings)
                        observer.OnWarning(warning);
                observer.OnImage(index, seed, result.Images);
            }
        }
    }

    /// <summary>Reports on the sampling thread itself (System.Progress would post to the thread pool, out of order).</summary>
    private sealed class SynchronousProgress(Action<DenoisingProgress> report) : IProgress<DenoisingProgress>
    {
        public void Report(DenoisingProgress value) => report(value);
    }
}
