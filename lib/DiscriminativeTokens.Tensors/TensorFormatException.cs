namespace DiscriminativeTokens.Tensors;

/// <summary>
/// A tensor or chunk stream that does not follow the wire format in protos/dct/common/v1/tensor.proto, or exceeds the
/// configured <see cref="TensorLimits"/>. The message says what is wrong and what to send instead; services map this
/// exception to gRPC INVALID_ARGUMENT.
/// </summary>
public sealed class TensorFormatException : Exception
{
    public TensorFormatException(string message)
        : base(message)
    {
    }

    public TensorFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
