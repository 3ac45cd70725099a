using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Batched GEMM with optional transposes (see <see cref="GemmArgs"/> for layouts), its gradients, and the
/// row bias of Linear: y [rows, n] = x·wᵀ + bias is BroadcastRows(bias, y) followed by a Beta = 1 GEMM.
/// </summary>
public static class MatMulRef
{
    public static void Gemm<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, GemmArgs g)
        where T : IFloatingPointIeee754<T>
    {
        g.CheckSizes(a.Length, b.Length, c.Length);
        T alpha = T.CreateChecked(g.Alpha), beta = T.CreateChecked(g.Beta);
        int m = g.M, n = g.N, k = g.K;
        for (int p = 0; p < g.Batch; p++)
        {
            var ap = a.Slice(p * m * k, m * k);
            var bp = b.Slice(p * k * n, k * n);
            var cp = c.Slice(p * m * n, m * n);
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T acc = T.Zero;
                for (int l = 0; l < k; l++)
                    acc += (g.TransA ? ap[l * m + i] : ap[i * k + l]) * (g.TransB ? bp[j * k + l] : bp[l * n + j]);
                cp[i * n + j] = g.Beta == 0f ? alpha * acc : alpha * acc + beta * cp[i * n + j];
            }
        }
    }

    /// <summary>ga = ∂L/∂A and gb = ∂L/∂B given gc = ∂L/∂C (each skipped when its span is empty).</summary>
    public static void GemmBackward<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> gc, Span<T> ga, Span<T> gb,
        GemmArgs g) where T : IFloatingPointIeee754<T>
    {
        if (!ga.IsEmpty)
        {
            var (args, gradFirst) = g.GradA();
            if (gradFirst) Gemm(gc, b, ga, args); else Gemm(b, gc, ga, args);
        }
        if (!gb.IsEmpty)
        {
            var (args, gradFirst) = g.GradB();
            if (gradFirst) Gemm(gc, a, gb, args); else Gemm(a, gc, gb, args);
        }
    }

    /// <summary>y[r, j] = bias[j] for every row r of y [rows, bias.Length].</summary>
    public static void BroadcastRows<T>(ReadOnlySpan<T> bias, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        int n = bias.Length;
        for (int r = 0; r < y.Length / n; r++)
        for (int j = 0; j < n; j++)
            y[r * n + j] = bias[j];
    }

    /// <summary>gbias[j] = Σ_r gy[r, j]: the backward of <see cref="BroadcastRows{T}"/>.</summary>
    public static void SumRows<T>(ReadOnlySpan<T> gy, Span<T> gbias) where T : IFloatingPointIeee754<T>
    {
        int n = gbias.Length;
        gbias.Clear();
        for (int r = 0; r < gy.Length / n; r++)
        for (int j = 0; j < n; j++)
            gbias[j] += gy[r * n + j];
    }
}
