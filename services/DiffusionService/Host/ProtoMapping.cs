using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Hosting;
using DiscriminativeTokens.Tensors;
using TorchSharp;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>Contract messages to domain values and back. Enum values the contract does not define are refused.</summary>
internal static class ProtoMapping
{
    public static SamplingRequest ToDomain(SamplingOptions? sampling) => sampling is null
        ? new SamplingRequest()
        : new SamplingRequest
        {
            Prompt = sampling.Prompt,
            NegativePrompt = sampling.NegativePrompt,
            Seed = unchecked((long)sampling.Seed),
            Steps = sampling.Steps,
            GuidanceScale = sampling.GuidanceScale,
            Width = sampling.Width,
            Height = sampling.Height,
            Scheduler = sampling.Scheduler,
            Padding = sampling.Padding switch
            {
                PromptPadding.Unspecified or PromptPadding.MaxLength => PromptPaddingMode.MaxLength,
                PromptPadding.ReferenceUnpadded => PromptPaddingMode.ReferenceUnpadded,
                var other => throw RequestRejectedException.Invalid(
                    $"padding = {(int)other} is not a PromptPadding value; use PROMPT_PADDING_MAX_LENGTH (1) or " +
                    "PROMPT_PADDING_REFERENCE_UNPADDED (2)."),
            },
        };

    /// <summary>The chunk size a request asks for (0 = 1 MiB), at most <see cref="GrpcLimits.MaxChunkBytes"/>.</summary>
    public static int ChunkBytes(int requested, string field)
    {
        if (requested == 0) return GrpcLimits.DefaultChunkBytes;
        if (requested < 0 || requested > GrpcLimits.MaxChunkBytes)
            throw RequestRejectedException.Invalid(
                $"{field} = {requested} is out of range: use 1..{GrpcLimits.MaxChunkBytes} bytes, or 0 for the default " +
                $"{GrpcLimits.DefaultChunkBytes}.");
        return requested;
    }

    /// <summary>Decodes a small tensor field (token embedding, latents); a malformed message is the caller's error.</summary>
    public static torch.Tensor Decode(WireTensor? message, string field)
    {
        if (message is null)
            throw RequestRejectedException.Invalid($"{field} is missing.");
        try
        {
            return TensorCodec.Decode(message);
        }
        catch (TensorFormatException e)
        {
            throw RpcErrors.InvalidTensor(field, e);
        }
    }

    public static ModelInfo ToModelInfo(DiffusionEngine engine)
    {
        var d = engine.Description;
        var limits = engine.Limits;
        var load = engine.Load;
        var info = new ModelInfo
        {
            ModelId = d.ModelId,
            TextHiddenSize = d.TextHiddenSize,
            SampleSize = d.SampleSize,
            VaeScaleFactor = d.VaeScaleFactor,
            LatentChannels = d.LatentChannels,
            Scheduler = d.Scheduler,
            PredictionType = d.PredictionType,
            MaxTokenLength = d.MaxTokenLength,
            TextEncoderSha256 = d.TextEncoderSha256,
            Device = d.Device,
            Limits = new ModelInfo.Types.Limits
            {
                MaxSteps = limits.MaxSteps,
                MaxImageSize = limits.MaxImageSize,
                MaxImagesPerRequest = limits.MaxImagesPerRequest,
                MaxConcurrentSessions = limits.MaxConcurrent,
                MaxOpenForwardsPerSession = limits.MaxOpenForwardsPerSession,
                SessionIdleTimeoutSeconds = limits.SessionIdleTimeout.TotalSeconds,
            },
            Load = new ModelInfo.Types.Load
            {
                GradientSessions = load.GradientSessions,
                Generations = load.Generations,
                OpenForwards = load.OpenForwards,
            },
        };
        info.AvailableSchedulers.AddRange(d.AvailableSchedulers);
        return info;
    }
}
