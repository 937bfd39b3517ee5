using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Client = DiscriminativeTokens.Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// A diffusion service reached over gRPC (diffusion.proto). Its calls and gradient sessions go through the connection's
/// channel and circuit breaker (see <see cref="GrpcBackend"/>); every failure is a <see cref="BackendException"/>
/// naming the service and address.
/// </summary>
public sealed class GrpcDiffusionBackend : GrpcBackend, IDiffusionBackend
{
    private readonly Client _client;

    public GrpcDiffusionBackend(string name, string address, DownstreamOptions? options = null)
        : this(new DownstreamConnection("diffusion", name, address, options), ownsConnection: true)
    {
    }

    /// <summary>A backend over a connection shared with other backends of the same service; disposing the backend
    /// leaves the connection open.</summary>
    internal GrpcDiffusionBackend(DownstreamConnection connection, bool ownsConnection) : base(connection, ownsConnection)
    {
        _client = new Client(Connection.Channel);
    }

    public Task<DiffusionModelInfo> GetModelInfoAsync(CancellationToken cancellationToken) =>
        Connection.CallAsync("GetModelInfo", async token =>
        {
            var info = await _client.GetModelInfoAsync(new GetModelInfoRequest(), deadline: Connection.InfoDeadline,
                                                       cancellationToken: token).ConfigureAwait(false);
            return WireMapping.ToDomain(info);
        }, cancellationToken);

    public Task<float[]> GetTokenEmbeddingAsync(string word, CancellationToken cancellationToken) =>
        Connection.CallAsync("GetTokenEmbedding", async token =>
        {
            var reply = await _client.GetTokenEmbeddingAsync(new GetTokenEmbeddingRequest { Word = word },
                                                             deadline: Connection.InfoDeadline, cancellationToken: token)
                                     .ConfigureAwait(false);
            var embedding = WireMapping.Decode(reply.Embedding, Connection, "GetTokenEmbedding", "embedding");
            if (embedding.Shape.Length != 1)
                throw Connection.Failure(BackendFailure.Internal, "GetTokenEmbedding",
                                          $"an embedding of shape {embedding}, not a vector");
            return embedding.Values;
        }, cancellationToken);

    public Task<IDiffusionGradientSession> OpenGradientSessionAsync(GradientSessionOptions options,
                                                                    CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Connection.CallAsync<IDiffusionGradientSession>("GradientSession open",
            async token => await GrpcGradientSession.OpenAsync(Connection, _client, options, token).ConfigureAwait(false),
            cancellationToken);
    }

    public Task<TensorData> GenerateAsync(SamplingSettings sampling, LearnedTokenVector? token,
                                          CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        var request = new GenerateRequest
        {
            Sampling = WireMapping.ToWire(sampling),
            NumImages = 1,
            MaxChunkBytes = Connection.Options.MaxChunkBytes,
        };
        if (token is not null)
            request.Token = new LearnedToken { Placeholder = token.Placeholder, Embedding = WireMapping.Encode(token.Embedding, "token") };
        return Connection.CallAsync("Generate", async cancel =>
        {
            using var call = _client.Generate(request, deadline: Connection.ComputeDeadline, cancellationToken: cancel);
            using var image = new TensorMessageAssembler();
            bool completed = false;
            while (await call.ResponseStream.MoveNext(cancel).ConfigureAwait(false))
            {
                var e = call.ResponseStream.Current;
                if (e.EventCase == GenerateEvent.EventOneofCase.Image && e.Image.ImageIndex == 0)
                    AddChunk(image, e.Image.Chunk);
                else if (e.EventCase == GenerateEvent.EventOneofCase.Completed)
                    completed = true;
            }
            if (!completed || !image.IsComplete)
                throw Connection.Failure(BackendFailure.Transient, "Generate",
                                          "a stream that ended before the image and GenerateCompleted arrived");
            return WireMapping.Decode(image.GetResult(), Connection, "Generate", "image");
        }, cancellationToken);
    }

    private void AddChunk(TensorMessageAssembler assembler, DiscriminativeTokens.Contracts.Common.V1.TensorChunk? chunk)
    {
        try
        {
            assembler.Add(chunk ?? throw new TensorFormatException("an image event without a chunk"));
        }
        catch (TensorFormatException e)
        {
            throw Connection.Failure(BackendFailure.Internal, "Generate", $"malformed image chunks: {e.Message}", e);
        }
    }
}
