using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>Pointwise ops with scalar parameters: affine a·x + b, clamp to [lo, hi], power x^p.</summary>
public static class ScalarRef
{
    /// <summary>y = a·x + b. Its backward is gx = a·gy, i.e. Affine(gy, a, 0).</summary>
    public static void Affine<T>(ReadOnlySpan<T> x, T a, T b, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = a * x[i] + b;
    }

    public static void Clamp<T>(ReadOnlySpan<T> x, T lo, T hi, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = T.Min(T.Max(x[i], lo), hi);
    }

    /// <summary>The gradient passes where lo &lt; x &lt; hi and is zero where x was clamped (including at the bounds).</summary>
    public static void ClampBackward<T>(ReadOnlySpan<T> x, T lo, T hi, ReadOnlySpan<T> gy, Span<T> gx)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) gx[i] = lo < x[i] && x[i] < hi ? gy[i] : T.Zero;
    }

    /// <summary>y = x^p (NaN for negative x and non-integer p, as in IEEE pow).</summary>
    public static void Pow<T>(ReadOnlySpan<T> x, T p, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = T.Pow(x[i], p);
    }

    /// <summary>gx = gy·p·x^(p−1).</summary>
    public static void PowBackward<T>(ReadOnlySpan<T> x, T p, ReadOnlySpan<T> gy, Span<T> gx) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) gx[i] = gy[i] * p * T.Pow(x[i], p - T.One);
    }
}
