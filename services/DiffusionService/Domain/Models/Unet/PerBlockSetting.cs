namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// A UNet config value that diffusers accepts either as one number shared by every down block or as a list with one
/// number per down block (e.g. <c>attention_head_dim: 8</c> in SD 1.x, <c>[5, 10, 20, 20]</c> in SD 2.x).
/// </summary>
public sealed record PerBlockSetting
{
    private readonly int[] _values;

    /// <summary>True when the config gave a list (one value per down block) rather than one shared value.</summary>
    public bool IsPerBlock { get; }

    /// <summary>The shared value, or the per-block list as given.</summary>
    public IReadOnlyList<int> Values => _values;

    private PerBlockSetting(int[] values, bool isPerBlock)
    {
        _values = values;
        IsPerBlock = isPerBlock;
    }

    public static PerBlockSetting Shared(int value) => new([value], false);

    public static PerBlockSetting PerBlock(params int[] values)
    {
        if (values.Length == 0) throw new ArgumentException("A per-block setting needs at least one value.", nameof(values));
        return new((int[])values.Clone(), true);
    }

    public static implicit operator PerBlockSetting(int value) => Shared(value);

    /// <summary>One value per down block; a list must have exactly <paramref name="blockCount"/> entries.</summary>
    public int[] Resolve(int blockCount, string field)
    {
        if (!IsPerBlock) return Enumerable.Repeat(_values[0], blockCount).ToArray();
        if (_values.Length != blockCount)
            throw new InvalidDataException($"UNet config field '{field}' = {this} has {_values.Length} entries but the " +
                                           $"model has {blockCount} down blocks; give one value or one per down block.");
        return (int[])_values.Clone();
    }

    public bool Equals(PerBlockSetting? other) =>
        other is not null && IsPerBlock == other.IsPerBlock && _values.SequenceEqual(other._values);

    public override int GetHashCode() => HashCode.Combine(IsPerBlock, _values.Length, _values[0]);

    public override string ToString() => IsPerBlock ? $"[{string.Join(", ", _values)}]" : _values[0].ToString();
}
