using DiscriminativeTokens.Benchmarks.Echo;
using DiscriminativeTokens.Contracts.Common.V1;
using DiscriminativeTokens.Tensors;
using Grpc.Core;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>
/// Reassembles the image straight into a tensor, computes a stand-in gradient (d/dx of -|x|^2, i.e. -2x: one cheap
/// element-wise op, so the round trip measures transport and codec), and streams it back in chunks.
/// </summary>
internal sealed class GradientEchoService : GradientEcho.GradientEchoBase
{
    public override async Task Gradient(
        IAsyncStreamReader<TensorChunk> requestStream, IServerStreamWriter<TensorChunk> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        PooledTensorEncoding encoding;
        try
        {
            using var image = await requestStream.ReadAllAsync(cancellationToken).ReadTensorAsync(cancellationToken: cancellationToken);
            using var gradient = image.mul(-2f);
            encoding = PooledTensorEncoding.Encode(gradient);
        }
        catch (TensorFormatException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }

        using (encoding)
        {
            foreach (var chunk in encoding.Split())
            {
                await responseStream.WriteAsync(chunk, cancellationToken);
            }
        }
    }
}
