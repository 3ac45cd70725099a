using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Single-head self-attention over T tokens as one op (the specification of the fused attention kernels), in EDM's
/// layout: qkv [N, C, 3, T] (q, k, v of channel c are channels 3c, 3c + 1, 3c + 2 of the block's qkv convolution), out
/// [N, C, T], and the per-query log-sum-exp lse [N, T] of the scaled logits s_ij = scale·Σ_c q[c, i]·k[c, j], which is all
/// the backward keeps: P_ij = exp(s_ij − lse_i) is recomputed from it, never stored between the passes.
/// </summary>
public static class AttentionRef
{
    private static int Q(int n, int c, int i, int ch, int t) => ((n * ch + c) * 3 + 0) * t + i;
    private static int K(int n, int c, int j, int ch, int t) => ((n * ch + c) * 3 + 1) * t + j;
    private static int V(int n, int c, int j, int ch, int t) => ((n * ch + c) * 3 + 2) * t + j;

    private static T Logit<T>(ReadOnlySpan<T> qkv, int n, int i, int j, int c, int t, T scale) where T : IFloatingPointIeee754<T>
    {
        T s = T.Zero;
        for (int ch = 0; ch < c; ch++) s += qkv[Q(n, ch, i, c, t)] * qkv[K(n, ch, j, c, t)];
        return scale * s;
    }

    /// <summary>out[c, i] = Σ_j softmax_j(s_ij)·v[c, j]; lse_i = log Σ_j exp(s_ij) (max-shifted).</summary>
    public static void Forward<T>(ReadOnlySpan<T> qkv, Span<T> output, Span<T> lse, int n, int c, int t, T scale)
        where T : IFloatingPointIeee754<T>
    {
        var p = new T[t];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < t; i++)
            {
                T max = T.NegativeInfinity;
                for (int j = 0; j < t; j++) max = T.Max(max, p[j] = Logit(qkv, b, i, j, c, t, scale));
                T sum = T.Zero;
                for (int j = 0; j < t; j++) sum += p[j] = T.Exp(p[j] - max);
                lse[b * t + i] = max + T.Log(sum);
                for (int ch = 0; ch < c; ch++)
                {
                    T acc = T.Zero;
                    for (int j = 0; j < t; j++) acc += p[j] * qkv[V(b, ch, j, c, t)];
                    output[(b * c + ch) * t + i] = acc / sum;
                }
            }
    }

    /// <summary>
    /// gqkv (every element written) from gOut [N, C, T], with P_ij = exp(s_ij − lse_i), D_i = Σ_c gOut[c, i]·out[c, i],
    /// gS_ij = P_ij·(Σ_c gOut[c, i]·v[c, j] − D_i): gv[c, j] = Σ_i P_ij·gOut[c, i], gq[c, i] = scale·Σ_j gS_ij·k[c, j],
    /// gk[c, j] = scale·Σ_i gS_ij·q[c, i].
    /// </summary>
    public static void Backward<T>(ReadOnlySpan<T> qkv, ReadOnlySpan<T> output, ReadOnlySpan<T> lse, ReadOnlySpan<T> gOut,
        Span<T> gQkv, int n, int c, int t, T scale) where T : IFloatingPointIeee754<T>
    {
        gQkv[..(n * 3 * c * t)].Clear();
        for (int b = 0; b < n; b++)
            for (int i = 0; i < t; i++)
            {
                T d = T.Zero;
                for (int ch = 0; ch < c; ch++) d += gOut[(b * c + ch) * t + i] * output[(b * c + ch) * t + i];
                for (int j = 0; j < t; j++)
                {
                    T p = T.Exp(Logit(qkv, b, i, j, c, t, scale) - lse[b * t + i]);
                    T gp = T.Zero;
                    for (int ch = 0; ch < c; ch++) gp += gOut[(b * c + ch) * t + i] * qkv[V(b, ch, j, c, t)];
                    T gs = scale * p * (gp - d);
                    for (int ch = 0; ch < c; ch++)
                    {
                        gQkv[V(b, ch, j, c, t)] += p * gOut[(b * c + ch) * t + i];
                        gQkv[Q(b, ch, i, c, t)] += gs * qkv[K(b, ch, j, c, t)];
                        gQkv[K(b, ch, j, c, t)] += gs * qkv[Q(b, ch, i, c, t)];
                    }
                }
            }
    }
}
