using System.Runtime.CompilerServices;
using SamplingOptions = DiscriminativeTokens.Contracts.Diffusion.V1.SamplingOptions;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Tokens;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>One image generated with a learned token.</summary>
public sealed record GeneratedImage(int Index, ulong Seed, TensorData Image);

/// <summary>
/// Generates images with the learned token of a succeeded training job on its diffusion service (or another one with
/// the same text encoder, which the token file checks). Defaults come from the training job's settings.
/// </summary>
public sealed class TokenGeneration(JobResults results, EndpointRegistry endpoints, IBackendFactory factory)
{
    public const int MaxImages = 64;

    /// <summary>Checks the request at once (before the first image) and returns the images as they are made.</summary>
    public async Task<IAsyncEnumerable<GeneratedImage>> StartAsync(GenerateWithTokenRequest request, CancellationToken cancellationToken)
    {
        var job = results.Succeeded(request.TrainingJobId, JobKind.Training);
        var training = job.Training;
        int count = request.NumImages == 0 ? 1 : request.NumImages;
        if (count < 1 || count > MaxImages)
            throw JobRequestException.Invalid($"num_images = {request.NumImages} is out of range: use 1..{MaxImages}.");
        var reference = request.Diffusion is { TargetCase: not ServiceRef.TargetOneofCase.None } ? request.Diffusion : training.Diffusion;
        var endpoint = endpoints.Resolve(ServiceKind.Diffusion, reference);
        var diffusion = factory.CreateDiffusion(endpoint.Name, endpoint.Address);
        try
        {
            DiffusionModelInfo model;
            try
            {
                model = await diffusion.GetModelInfoAsync(cancellationToken);
            }
            catch (BackendException e)
            {
                throw JobRequestException.Precondition($"The diffusion service '{endpoint.Name}' at {endpoint.Address} " +
                                                       $"did not answer: {e.Detail}");
            }
            LearnedToken token;
            try
            {
                token = LearnedTokenFile.Load(job.ArtifactsDir, model.TextHiddenSize, model.TextEncoderSha256);
            }
            catch (InvalidDataException e)
            {
                throw JobRequestException.Precondition(e.Message);
            }
            var sampling = Resolve(request.Sampling ?? new SamplingOptions(), training, token);
            return Generate(diffusion, sampling, new LearnedTokenVector(token.Placeholder, token.Embedding), count, cancellationToken);
        }
        catch
        {
            await BackendCalls.DisposeAsync(diffusion);
            throw;
        }
    }

    private static async IAsyncEnumerable<GeneratedImage> Generate(IDiffusionBackend diffusion, SamplingSettings sampling,
        LearnedTokenVector token, int count, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            for (int i = 0; i < count; i++)
            {
                var settings = sampling with { Seed = sampling.Seed + (ulong)i };
                var image = await diffusion.GenerateAsync(settings, token, cancellationToken);
                yield return new GeneratedImage(i, settings.Seed, image);
            }
        }
        finally
        {
            await BackendCalls.DisposeAsync(diffusion);
        }
    }

    private static SamplingSettings Resolve(SamplingOptions o, TrainingConfig training, LearnedToken token)
    {
        string prompt = string.IsNullOrWhiteSpace(o.Prompt) ? "A photo of {token} {class}" : o.Prompt;
        prompt = prompt.Replace("{token}", token.Placeholder, StringComparison.Ordinal)
                       .Replace("{class}", training.Target.PromptName, StringComparison.Ordinal);
        if (!prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(token.Placeholder))
            throw JobRequestException.Invalid($"The prompt \"{o.Prompt}\" does not use the token: put {{token}} (or " +
                                              $"'{token.Placeholder}') where it goes.");
        int size = training.HasImageSize ? training.ImageSize : 0;
        return new SamplingSettings(
            prompt,
            o.Seed,
            o.Steps == 0 ? training.Steps : o.Steps,
            o.GuidanceScale == 0 ? training.GuidanceScale : o.GuidanceScale,
            o.Width == 0 ? size : o.Width,
            o.Height == 0 ? size : o.Height,
            string.IsNullOrEmpty(o.Scheduler) ? NullIfEmpty(training.Scheduler) : o.Scheduler,
            TrainingConfigMapping.ToPadding(o.Padding),
            o.NegativePrompt ?? "");
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
