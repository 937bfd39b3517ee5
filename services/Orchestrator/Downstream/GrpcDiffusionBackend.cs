using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Client = DiscriminativeTokens.Contracts.Diffusion.V1.DiffusionService.DiffusionServiceClient;

namespace DiscriminativeTokens.Orchestration.Downstream;

/// <summary>
/// A diffusion service reached over gRPC (diffusion.proto). One channel and one circuit breaker per instance, shared by
/// its calls and gradient sessions; every failure is a <see cref="BackendException"/> naming the service and address.
/// </summary>
public sealed class GrpcDiffusionBackend : IDiffusionBackend, IDisposable
{
    private readonly DownstreamConnection _connection;
    private readonly bool _ownsConnection;
    private readonly Client _client;

    public GrpcDiffusionBackend(string name, string address, DownstreamOptions? options = null)
        : this(new DownstreamConnection("diffusion", name, address, options), ownsConnection: true)
    {
    }

    /// <summary>A backend over a connection (channel and circuit breaker) shared with other backends of the same
    /// service; disposing the backend leaves the connection open.</summary>
    internal GrpcDiffusionBackend(DownstreamConnection connection, bool ownsConnection)
    {
        _connection = connection;
        _ownsConnection = ownsConnection;
        _client = new Client(_connection.Channel);
    }

    public string Name => _connection.Name;
    public string Address => _connection.Address;

    public Task<DiffusionModelInfo> GetModelInfoAsync(CancellationToken cancellationToken) =>
        _connection.CallAsync("GetModelInfo", async token =>
        {
            var info = await _client.GetModelInfoAsync(new GetModelInfoRequest(), deadline: _connection.InfoDeadline,
                                                       cancellationToken: token).ConfigureAwait(false);
            return WireMapping.ToDomain(info);
        }, cancellationToken);

    public Task<float[]> GetTokenEmbeddingAsync(string word, CancellationToken cancellationToken) =>
        _connection.CallAsync("GetTokenEmbedding", async token =>
        {
            var reply = await _client.GetTokenEmbeddingAsync(new GetTokenEmbeddingRequest { Word = word },
                                                             deadline: _connection.InfoDeadline, cancellationToken: token)
                                     .ConfigureAwait(false);
            var embedding = WireMapping.Decode(reply.Embedding, _connection, "GetTokenEmbedding", "embedding");
            if (embedding.Shape.Length != 1)
                throw _connection.Failure(BackendFailure.Internal, "GetTokenEmbedding",
                                          $"an embedding of shape {embedding}, not a vector");
            return embedding.Values;
        }, cancellationToken);

    public Task<IDiffusionGradientSession> OpenGradientSessionAsync(GradientSessionOptions options,
                                                                    CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _connection.CallAsync<IDiffusionGradientSession>("GradientSession open",
            async token => await GrpcGradientSession.OpenAsync(_connection, _client, options, token).ConfigureAwait(false),
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
            MaxChunkBytes = _connection.Options.MaxChunkBytes,
        };
        if (token is not null)
            request.Token = new LearnedToken { Placeholder = token.Placeholder, Embedding = WireMapping.Encode(token.Embedding, "token") };
        return _connection.CallAsync("Generate", async cancel =>
        {
            using var call = _client.Generate(request, deadline: _connection.ComputeDeadline, cancellationToken: cancel);
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
                throw _connection.Failure(BackendFailure.Transient, "Generate",
                                          "a stream that ended before the image and GenerateCompleted arrived");
            return WireMapping.Decode(image.GetResult(), _connection, "Generate", "image");
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
            throw _connection.Failure(BackendFailure.Internal, "Generate", $"malformed image chunks: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        if (_ownsConnection) _connection.Dispose();
    }
}
