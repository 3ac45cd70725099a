using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>Sums (and, with scale = 1/Size, means) along the middle axis of x viewed as [Outer, Size, Inner].</summary>
public static class ReduceRef
{
    /// <summary>y[o, i] = scale·Σₖ x[o, k, i], summed in double so long float reductions stay exact to rounding.</summary>
    public static void Sum<T>(ReadOnlySpan<T> x, Span<T> y, AxisGeometry g, double scale) where T : IFloatingPointIeee754<T>
    {
        for (int o = 0; o < g.Outer; o++)
        for (int i = 0; i < g.Inner; i++)
        {
            double s = 0;
            for (int k = 0; k < g.Size; k++) s += double.CreateTruncating(x[(o * g.Size + k) * g.Inner + i]);
            y[o * g.Inner + i] = T.CreateTruncating(scale * s);
        }
    }

    /// <summary>gx[o, k, i] = scale·gy[o, i]: every summed element receives the output's gradient.</summary>
    public static void SumBackward<T>(ReadOnlySpan<T> gy, Span<T> gx, AxisGeometry g, double scale) where T : IFloatingPointIeee754<T>
    {
        T s = T.CreateTruncating(scale);
        for (int o = 0; o < g.Outer; o++)
        for (int k = 0; k < g.Size; k++)
        for (int i = 0; i < g.Inner; i++)
            gx[(o * g.Size + k) * g.Inner + i] = s * gy[o * g.Inner + i];
    }
}
