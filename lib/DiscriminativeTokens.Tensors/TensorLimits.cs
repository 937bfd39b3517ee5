namespace DiscriminativeTokens.Tensors;

/// <summary>
/// Upper bounds checked before any memory is allocated for an incoming tensor, so a header cannot make a service
/// allocate more than it is willing to.
/// </summary>
public sealed record TensorLimits
{
    /// <summary>1 GiB of data and 2^30 elements: room for any image batch this project moves.</summary>
    public static TensorLimits Default { get; } = new();

    /// <summary>Largest accepted product(shape).</summary>
    public long MaxElements
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    } = 1L << 30;

    /// <summary>Largest accepted product(shape) * width. At most <see cref="Array.MaxLength"/>: one tensor is one byte[].</summary>
    public long MaxBytes
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Array.MaxLength);
            field = value;
        }
    } = 1L << 30;

    /// <summary>Largest accepted number of dimensions; LibTorch kernels are not built for absurd ranks.</summary>
    public int MaxRank
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    } = 64;
}
