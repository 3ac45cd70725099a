using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Optimizer arithmetic as plain loops: the specification of <see cref="IBackend.AdamStep"/> and its siblings.
/// Generic so tests can run it in float64; hyper-parameters arrive as doubles and are rounded to T once,
/// as PyTorch rounds its Python-float scalars.
/// </summary>
public static class OptimRef
{
    public static void AdamStep<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> m, Span<T> v, AdamStepParams h)
        where T : IFloatingPointIeee754<T>
    {
        T decay = T.CreateChecked(h.Decay), stepSize = T.CreateChecked(h.StepSize);
        T bc2Sqrt = T.CreateChecked(h.BiasCorrection2Sqrt), eps = T.CreateChecked(h.Eps);
        T b1 = T.CreateChecked(h.Beta1), a1 = T.CreateChecked(1 - h.Beta1);
        T b2 = T.CreateChecked(h.Beta2), a2 = T.CreateChecked(1 - h.Beta2);
        for (int i = 0; i < p.Length; i++)
        {
            m[i] = b1 * m[i] + a1 * g[i];
            v[i] = b2 * v[i] + a2 * g[i] * g[i];
            p[i] = decay * p[i] - stepSize * m[i] / (T.Sqrt(v[i]) / bc2Sqrt + eps);
        }
    }

    public static double SumOfSquares<T>(ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T>
    {
        double s = 0;
        foreach (T xi in x)
        {
            double d = double.CreateChecked(xi);
            s += d * d;
        }
        return s;
    }

    public static void ScaleInPlace<T>(Span<T> x, T s) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) x[i] = s * x[i];
    }

    public static void EmaUpdate<T>(Span<T> ema, ReadOnlySpan<T> p, double beta) where T : IFloatingPointIeee754<T>
    {
        T b = T.CreateChecked(beta), a = T.CreateChecked(1 - beta);
        for (int i = 0; i < ema.Length; i++) ema[i] = b * ema[i] + a * p[i];
    }

    public static bool AllFinite<T>(ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T>
    {
        foreach (T xi in x)
            if (!T.IsFinite(xi)) return false;
        return true;
    }
}
