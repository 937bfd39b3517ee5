namespace DiscriminativeTokens.Orchestration.Backends;

/// <summary>
/// A float32 tensor as plain data crossing a backend boundary (C order). Backends copy in and out of it; the loop
/// never holds a native tensor across a service call, so a remote and an in-process backend look the same.
/// </summary>
public sealed record TensorData(float[] Values, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);

    public static TensorData Vector(float[] values) => new(values, [values.Length]);

    public override string ToString() => $"float32[{string.Join(", ", Shape)}]";
}
