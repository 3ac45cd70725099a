using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>Softmax over the last dimension (rows of length n), stabilised by subtracting each row's maximum.</summary>
public static class SoftmaxRef
{
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int n) where T : IFloatingPointIeee754<T>
    {
        for (int s = 0; s < x.Length; s += n)
        {
            var xr = x.Slice(s, n);
            var yr = y.Slice(s, n);
            T max = T.NegativeInfinity;
            foreach (var v in xr) max = T.Max(max, v);
            double sum = 0;
            for (int i = 0; i < n; i++) { yr[i] = T.Exp(xr[i] - max); sum += double.CreateTruncating(yr[i]); }
            T inv = T.CreateTruncating(1 / sum);
            for (int i = 0; i < n; i++) yr[i] *= inv;
        }
    }

    /// <summary>gx = y ⊙ (gy − Σᵢ gyᵢ·yᵢ) per row, from the output y.</summary>
    public static void Backward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gy, Span<T> gx, int n) where T : IFloatingPointIeee754<T>
    {
        for (int s = 0; s < y.Length; s += n)
        {
            double dot = 0;
            for (int i = 0; i < n; i++) dot += double.CreateTruncating(gy[s + i] * y[s + i]);
            T d = T.CreateTruncating(dot);
            for (int i = 0; i < n; i++) gx[s + i] = y[s + i] * (gy[s + i] - d);
        }
    }
}
