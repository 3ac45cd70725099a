using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// Eight Philox-4x32-10 blocks at once with AVX-512: bit for bit <see cref="Rng.Block"/> at counters c … c + 7. Each
/// 64-bit lane carries one block's 32-bit word, so VPMULUDQ (32×32 → 64) gives each round's products exactly, high and
/// low halves split by shift and mask. Scalar Philox costs ~10 ns per element of a dropout mask; this is ~8× less.
/// </summary>
internal static class PhiloxSimd
{
    public const int Blocks = 8;

    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>Words of blocks counter … counter + 7 under <paramref name="key"/>, block-major: words[4·b + w].</summary>
    public static void Block8(ulong key, ulong counter, Span<uint> words)
    {
        var low = Vector512.Create(0xFFFF_FFFFUL);
        // Per-lane 64-bit counters, so a carry into the high word (counter crossing 2³²) is exact.
        var lanes = Vector512.Create(counter) + Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
        Vector512<ulong> c0 = lanes & low, c1 = Vector512.ShiftRightLogical(lanes, 32), c2 = Vector512<ulong>.Zero, c3 = Vector512<ulong>.Zero;
        var m0 = Vector512.Create((ulong)Rng.M0).AsUInt32();
        var m1 = Vector512.Create((ulong)Rng.M1).AsUInt32();
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        for (int r = 0; r < 10; r++)
        {
            var p0 = Avx512F.Multiply(c0.AsUInt32(), m0);
            var p1 = Avx512F.Multiply(c2.AsUInt32(), m1);
            var n0 = Vector512.ShiftRightLogical(p1, 32) ^ c1 ^ Vector512.Create((ulong)k0);
            var n2 = Vector512.ShiftRightLogical(p0, 32) ^ c3 ^ Vector512.Create((ulong)k1);
            c0 = n0; c1 = p1 & low; c2 = n2; c3 = p0 & low;
            k0 += Rng.W0; k1 += Rng.W1;
        }
        Span<ulong> lanesOut = stackalloc ulong[4 * Blocks];
        c0.CopyTo(lanesOut);
        c1.CopyTo(lanesOut[Blocks..]);
        c2.CopyTo(lanesOut[(2 * Blocks)..]);
        c3.CopyTo(lanesOut[(3 * Blocks)..]);
        for (int b = 0; b < Blocks; b++)
            for (int w = 0; w < 4; w++) words[4 * b + w] = (uint)lanesOut[w * Blocks + b];
    }
}
