using System.Numerics;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Inverted dropout with a counter-based mask: element i is kept when the top 24 bits of word i % 4 of Philox block
/// (seed, counter + i / 4) are below <see cref="KeepThreshold"/>; that is, the mask reads the first n words of the
/// stream <c>new Rng(seed, counter)</c>. Any element's mask is a pure function of (seed, counter, i), so a GPU kernel
/// reproduces it exactly and the backward recomputes it instead of storing it. y = x·mask/(1−p), with the scale
/// rounded from double; the backward is the same map applied to gy.
/// </summary>
public static class DropoutRef
{
    /// <summary>Keep iff (word &gt;&gt; 8) &lt; threshold: probability threshold/2²⁴ = 1 − p to within 2⁻²⁵, compared in integers.</summary>
    public static uint KeepThreshold(double p) => (uint)Math.Round((1 - p) * (1 << 24));

    /// <summary>The survivors' factor 1/(1−p) in float, rounded from double as <see cref="Apply{T}"/> rounds it for float.</summary>
    public static float KeepScale(double p) => (float)(1 / (1 - p));

    /// <summary>Philox blocks consumed by a mask of n elements (four 32-bit words per block).</summary>
    public static ulong Blocks(int n) => ((ulong)n + 3) / 4;

    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> y, double p, ulong seed, ulong counter) where T : IFloatingPointIeee754<T>
    {
        uint threshold = KeepThreshold(p);
        T scale = T.CreateTruncating(1 / (1 - p));
        Span<uint> words = stackalloc uint[4];
        for (int i = 0; i < x.Length; i++)
        {
            if (i % 4 == 0) Rng.Block(seed, counter + (ulong)(i / 4), words);
            y[i] = words[i % 4] >> 8 < threshold ? x[i] * scale : T.Zero;
        }
    }
}
