using System.Diagnostics;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Diffusion.Pipelines;
using LearnedToken = DiscriminativeTokens.Diffusion.Pipelines.LearnedToken;
using DiscriminativeTokens.Diffusion.Serving;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using TorchSharp;

namespace DiscriminativeTokens.DiffusionService;

/// <summary>
/// gRPC face of the diffusion model: translates contract messages to the domain (<see cref="DiffusionEngine"/>) and
/// back, and refusals to statuses. Model work runs on threads of its own; responses go through one writer per call.
/// </summary>
public sealed class DiffusionGrpcService(ModelHost host, ILogger<DiffusionGrpcService> logger)
    : Contracts.Diffusion.V1.DiffusionService.DiffusionServiceBase
{
    public override Task<ModelInfo> GetModelInfo(GetModelInfoRequest request, ServerCallContext context) =>
        RpcErrors.Guard(() => Task.FromResult(ProtoMapping.ToModelInfo(host.Engine)));

    public override Task<TokenEmbedding> GetTokenEmbedding(GetTokenEmbeddingRequest request, ServerCallContext context) =>
        RpcErrors.Guard(async () =>
        {
            var model = host.Engine.Model;
            var found = await Compute.Run(() => TokenEmbeddingLookup.Lookup(model, request.Word));
            return new TokenEmbedding
            {
                Word = found.Word,
                TokenId = found.TokenId,
                Token = found.Token,
                Embedding = TensorCodec.EncodeArray<float>(found.Embedding, [found.Embedding.Length]),
            };
        });

    public override Task Generate(GenerateRequest request, IServerStreamWriter<GenerateEvent> responseStream,
                                  ServerCallContext context) =>
        RpcErrors.Guard(async () =>
        {
            var engine = host.Engine;
            var validator = engine.Validator;
            var sampling = validator.Resolve(ProtoMapping.ToDomain(request.Sampling));
            int count = validator.ImageCount(request.NumImages);
            int chunkBytes = ProtoMapping.ChunkBytes(request.MaxChunkBytes, "max_chunk_bytes");
            torch.Tensor? vector = null;
            try
            {
                LearnedToken? token = null;
                if (request.Token is { } wireToken)
                {
                    validator.CheckPlaceholder(wireToken.Placeholder, "token.placeholder");
                    SamplingValidator.CheckPromptHasPlaceholder(sampling.Prompt, wireToken.Placeholder);
                    using var received = ProtoMapping.Decode(wireToken.Embedding, "token.embedding");
                    vector = validator.TokenVector(received, "token.embedding");
                    token = new LearnedToken(wireToken.Placeholder, vector);
                }

                using var lease = engine.Limiter.Acquire(WorkKind.Generation);
                await using var pump = new ResponsePump<GenerateEvent>(responseStream, context.CancellationToken);
                var start = Stopwatch.GetTimestamp();
                var generation = new GenerationRequest(sampling, token, count);
                await Compute.Run(() => engine.Generation.Run(generation, new GenerateStream(pump, chunkBytes),
                                                               context.CancellationToken));
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                pump.Post(new GenerateEvent { Completed = new GenerateCompleted { Seconds = seconds } });
                await pump.CompleteAsync();
                logger.LogInformation("Generated {Count} image(s) {Width}x{Height}, {Steps} steps{Token} in {Seconds:F2} s",
                                      count, sampling.Width, sampling.Height, sampling.Steps,
                                      token is null ? "" : $" with token '{token.Placeholder}'", seconds);
            }
            finally
            {
                vector?.Dispose();
            }
        });

    public override Task GradientSession(IAsyncStreamReader<GradientSessionRequest> requestStream,
                                         IServerStreamWriter<GradientSessionResponse> responseStream, ServerCallContext context) =>
        RpcErrors.Guard(() => GradientSessionCall.RunAsync(host.Engine, requestStream, responseStream, context, logger));

    /// <summary>Turns a generation's reports into stream events (called on the compute thread).</summary>
    private sealed class GenerateStream(ResponsePump<GenerateEvent> pump, int chunkBytes) : IGenerationObserver
    {
        public void OnWarning(string message) => pump.Post(new GenerateEvent { Warning = new Warning { Message = message } });

        public void OnProgress(int imageIndex, DenoisingProgress progress) =>
            pump.Post(new GenerateEvent
            {
                Progress = new Progress
                {
                    ImageIndex = imageIndex,
                    Step = progress.Step,
                    TotalSteps = progress.Total,
                    Timestep = progress.Timestep,
                },
            });

        public void OnImage(int imageIndex, long seed, torch.Tensor image)
        {
            var encoding = PooledTensorEncoding.Encode(image);
            ulong wireSeed = unchecked((ulong)seed);
            pump.Post(encoding.Split(chunkBytes).Select(chunk => new GenerateEvent
            {
                Image = new ImageChunk { ImageIndex = imageIndex, Seed = wireSeed, Chunk = chunk },
            }), encoding);
        }
    }
}
