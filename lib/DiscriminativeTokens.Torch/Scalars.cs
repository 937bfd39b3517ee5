using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Torch;

/// <summary>
/// Tensor arithmetic with numbers, safe against TorchSharp 0.107's Scalar lifetime defect: TorchSharp hands a
/// <see cref="Scalar"/>'s native handle to libtorch without keeping the managed object alive, and frees the native value
/// in the finalizer. An implicitly converted Scalar (<c>t * 0.5</c>, <c>t.pow(2)</c>, and even <c>a + b</c>, whose alpha of
/// 1 is such a Scalar) is unreachable while libtorch runs, so a garbage collection started by another thread can free
/// it before libtorch reads it ("Unknown scalar type", or a wrong value). Every method here holds its Scalar until the
/// native call has returned and frees it at once. Each calls the same libtorch function as the operator it replaces,
/// so results are bit for bit the same. tests/DiscriminativeTokens.Tests/Torch/ScalarLifetimeTests checks that product
/// code makes Scalars nowhere else.
/// </summary>
public static class Scalars
{
    // A static field is never collected, so this Scalar can be passed straight to libtorch from any thread. An integer
    // 1, as TorchSharp's own a.add(b) passes.
    private static readonly Scalar One = 1.ToScalar();

    /// <summary><c>left + right</c>.</summary>
    public static Tensor Plus(this Tensor left, Tensor right) => left.add(right, One);

    /// <summary><c>left + right</c>.</summary>
    public static Tensor Plus(this Tensor left, double right) => With(right, value => left.add(value, One));

    /// <summary><c>left += right</c> in place; returns <paramref name="left"/>.</summary>
    public static Tensor PlusInPlace(this Tensor left, Tensor right) => left.add_(right, One);

    /// <summary><c>left - right</c>.</summary>
    public static Tensor Minus(this Tensor left, double right) => With(right, value => left.sub(value));

    /// <summary><c>left - right</c> (as TorchSharp computes it: <c>-right + left</c>, which IEEE arithmetic makes exact).</summary>
    public static Tensor SubtractedFrom(this Tensor right, double left) => With(left, value => AddToNegated(right, value));

    /// <summary><c>left - right</c> for an integer <paramref name="left"/>.</summary>
    public static Tensor SubtractedFrom(this Tensor right, long left) => With(left, value => AddToNegated(right, value));

    /// <summary><c>left * right</c>.</summary>
    public static Tensor Times(this Tensor left, double right) => With(right, value => left.mul(value));

    /// <summary><c>left * right</c> for an integer factor (keeps an integer tensor's type, as the operator does).</summary>
    public static Tensor Times(this Tensor left, long right) => With(right, value => left.mul(value));

    /// <summary><c>left *= right</c> in place; returns <paramref name="left"/>.</summary>
    public static Tensor TimesInPlace(this Tensor left, double right) => With(right, value => left.mul_(value));

    /// <summary><c>left / right</c>.</summary>
    public static Tensor DividedBy(this Tensor left, double right) => With(right, value => left.div(value));

    /// <summary><c>left / right</c> for an integer divisor (true division, as the operator does).</summary>
    public static Tensor DividedBy(this Tensor left, long right) => With(right, value => left.div(value));

    /// <summary><c>tensor.pow(exponent)</c> for an integer exponent.</summary>
    public static Tensor Pow(this Tensor tensor, long exponent) => With(exponent, value => tensor.pow(value));

    /// <summary>Fills <paramref name="tensor"/> with <paramref name="value"/> in place; returns it.</summary>
    public static Tensor FillInPlace(this Tensor tensor, double value) => With(value, scalar => tensor.fill_(scalar));

    /// <summary><paramref name="tensor"/> limited to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Tensor Clamped(this Tensor tensor, double min, double max) =>
        With(min, low => With(max, high => tensor.clamp(low, high)));

    /// <summary><c>0, 1, …, end - 1</c>.</summary>
    public static Tensor Arange(long end, ScalarType dtype, Device device) => Arange(0, end, dtype, device);

    /// <summary><c>start, start + 1, …</c> below <paramref name="end"/>.</summary>
    public static Tensor Arange(long start, long end, ScalarType dtype, Device device) =>
        With(start, first => With(end, stop => arange(first, stop, One, dtype, device)));

    /// <summary>Any other TorchSharp call that takes a Scalar: <paramref name="operation"/> gets <paramref name="value"/>
    /// as one that lives until it returns. E.g. <c>Scalars.With(0L, zero => ids.masked_fill(mask, zero))</c>.</summary>
    public static Tensor With(long value, Func<Scalar, Tensor> operation)
    {
        using var scalar = value.ToScalar();
        return operation(scalar);
    }

    /// <inheritdoc cref="With(long, Func{Scalar, Tensor})"/>
    public static Tensor With(double value, Func<Scalar, Tensor> operation)
    {
        using var scalar = value.ToScalar();
        return operation(scalar);
    }

    private static Tensor AddToNegated(Tensor tensor, Scalar value)
    {
        using var negated = tensor.negative();
        return negated.add(value, One);
    }
}
