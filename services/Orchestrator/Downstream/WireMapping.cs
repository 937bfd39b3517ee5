using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Tensors;
using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;
using WirePadding = DiscriminativeTokens.Contracts.Diffusion.V1.PromptPadding;
using DomainPadding = DiscriminativeTokens.Orchestration.Backends.PromptPadding;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>Domain values to contract messages and back. Tensors cross as raw float32 bytes, copied once.</summary>
internal static class WireMapping
{
    public static WireTensor Encode(TensorData data, string what)
    {
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            return TensorCodec.EncodeArray<float>(data.Values, data.Shape);
        }
        catch (TensorFormatException e)
        {
            throw new ArgumentException($"{what}: {e.Message}", e);
        }
    }

    public static WireTensor Encode(float[] vector, string what) => Encode(TensorData.Vector(vector), what);

    /// <summary>A float32 tensor the service sent; a malformed one is the service's bug.</summary>
    public static TensorData Decode(WireTensor? message, DownstreamConnection connection, string operation, string what)
    {
        if (message is null)
            throw connection.Failure(BackendFailure.Internal, operation, $"a reply without {what}");
        try
        {
            var (values, shape) = TensorCodec.DecodeArray<float>(message);
            return new TensorData(values, shape);
        }
        catch (TensorFormatException e)
        {
            throw connection.Failure(BackendFailure.Internal, operation, $"a malformed {what}: {e.Message}", e);
        }
    }

    public static SamplingOptions ToWire(SamplingSettings sampling) => new()
    {
        Prompt = sampling.Prompt,
        NegativePrompt = sampling.NegativePrompt,
        Seed = sampling.Seed,
        Steps = sampling.Steps,
        GuidanceScale = (float)sampling.GuidanceScale,
        Width = sampling.Width,
        Height = sampling.Height,
        Scheduler = sampling.Scheduler ?? "",
        Padding = sampling.Padding switch
        {
            DomainPadding.MaxLength => WirePadding.MaxLength,
            DomainPadding.ReferenceUnpadded => WirePadding.ReferenceUnpadded,
            var other => throw new ArgumentOutOfRangeException(nameof(sampling), other, "Unknown prompt padding."),
        },
    };

    public static OpenSession ToWire(GradientSessionOptions options, int maxChunkBytes) => new()
    {
        Placeholder = options.Placeholder,
        GradientMode = options.Path switch
        {
            GradientPath.Reference => GradientMode.Reference,
            GradientPath.LastK => GradientMode.LastK,
            GradientPath.Full => GradientMode.Full,
            var other => throw new ArgumentOutOfRangeException(nameof(options), other, "Unknown gradient path."),
        },
        // The service refuses last_k_calls with any other mode.
        LastKCalls = options.Path == GradientPath.LastK ? options.LastKCalls : 0,
        MemoryMode = options.MemoryMode switch
        {
            SessionMemoryMode.KeepGraph => MemoryMode.KeepGraph,
            SessionMemoryMode.Recompute => MemoryMode.Recompute,
            var other => throw new ArgumentOutOfRangeException(nameof(options), other, "Unknown memory mode."),
        },
        MaxChunkBytes = maxChunkBytes,
        LoopStyle = SamplingLoopStyle.Proper,
    };

    public static DiffusionModelInfo ToDomain(ModelInfo info) => new(
        info.ModelId,
        info.TextHiddenSize,
        info.SampleSize,
        info.VaeScaleFactor,
        info.LatentChannels,
        info.Scheduler,
        [.. info.AvailableSchedulers],
        info.MaxTokenLength,
        info.TextEncoderSha256,
        info.Limits?.MaxSteps ?? 0,
        info.Limits?.MaxImageSize ?? 0,
        info.Device);
}
