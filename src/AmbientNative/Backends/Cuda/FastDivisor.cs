namespace AmbientNative.Backends.Cuda;

/// <summary>
/// Division of a non-negative int by a divisor fixed for a launch, as a multiply and a shift: n / d =
/// (umulhi(n, Magic) + n) &gt;&gt; Shift for 0 ≤ n &lt; 2³¹ (Granlund–Montgomery with a 33-bit multiplier 2³² + Magic).
/// A kernel dividing by a value known only at run time pays ~20 instructions per division (IABS, I2F, MUFU.RCP,
/// F2I and fix-ups); this is three. kernels/common.cuh's <c>an_div</c> is the device side; <see cref="Divide"/>
/// the same arithmetic on the host, which the tests check against integer division.
/// </summary>
internal readonly record struct FastDivisor(uint Magic, int Shift)
{
    public static FastDivisor For(int d)
    {
        if (d <= 0) throw new ArgumentOutOfRangeException(nameof(d), $"A fast divisor must be positive; got {d}.");
        int shift = 0;
        while ((1L << shift) < d) shift++;                    // ⌈log2 d⌉
        ulong magic = ((1UL << 32) * ((1UL << shift) - (ulong)d)) / (ulong)d + 1; // ⌊2³²·(2^shift − d)/d⌋ + 1 < 2³²
        return new FastDivisor((uint)magic, shift);
    }

    public int Divide(int n) => (int)(((uint)(((ulong)(uint)n * Magic) >> 32) + (uint)n) >> Shift);
}
