using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Standard normal noise as a pure function of (seed, counter, element): element i is Box–Muller, in float64, of words
/// 2·(i mod 2) and 2·(i mod 2) + 1 of Philox block (seed, counter + i/2), each word's top 24 bits as u ∈ (0, 1]. This is
/// exactly what <see cref="Rng.FillNormal(Span{float}, float, float)"/> draws from a generator whose buffer is empty at
/// block <c>counter</c>, so a device (or several threads) can draw a training step's noise in place of the host, with the
/// same values, and the generator then skips the <see cref="Blocks"/> blocks (<see cref="Rng.Advance"/>).
/// </summary>
public static class NormalRef
{
    /// <summary>Philox blocks consumed by n normals (two 32-bit words each, four words per block).</summary>
    public static ulong Blocks(long n) => (ulong)(n + 1) / 2;

    /// <summary>y[i] for lo ≤ i &lt; hi (lo even), the rest untouched: ranges can be filled independently.</summary>
    public static void FillRange(Span<float> y, int lo, int hi, ulong seed, ulong counter)
    {
        if ((lo & 1) != 0) throw new ArgumentException($"NormalRef.FillRange: a range starts at an even element (two per block half); got {lo}.", nameof(lo));
        Span<uint> words = stackalloc uint[4];
        for (int i = lo; i < hi; i += 2)
        {
            Rng.Block(seed, counter + (ulong)(i / 2), words);
            y[i] = Sample(words[0], words[1]);
            if (i + 1 < hi) y[i + 1] = Sample(words[2], words[3]);
        }
    }

    /// <summary>Rng's Box–Muller of two words, then FillNormal's mean + std·(float)z with mean 0, std 1.</summary>
    private static float Sample(uint w1, uint w2) => 0f + 1f * (float)Rng.BoxMuller(w1, w2);
}
