using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// Building blocks of GEMM packing. A packed panel is kc rows of <c>width</c> floats (the micro-kernel's MR or
/// NR); lanes past the valid count are zero so ragged tiles need no special case in the kernel.
/// </summary>
internal static unsafe class Packing
{
    /// <summary>
    /// Packs kc source rows of n contiguous floats (row stride lds) into ⌈n/width⌉ panels: element (p, r) goes to
    /// panel r/width at [p·width + r%width]. Walks each source row once, front to back, so the hardware
    /// prefetcher streams it; going panel by panel instead would jump a whole row stride every 128 bytes.
    /// </summary>
    public static void CopyPanels(float* src, nint lds, int n, int kc, int width, float* dst)
    {
        int full = n / width * width, tail = n - full;
        for (int p = 0; p < kc; p++, src += lds)
        {
            float* d = dst + (nint)p * width;
            for (int r = 0; r < full; r += width, d += (nint)kc * width) CopyRun(src + r, d, width);
            if (tail > 0)
            {
                CopyRun(src + full, d, tail);
                for (int r = tail; r < width; r++) d[r] = 0f;
            }
        }
    }

    /// <summary>
    /// dst[p·width + r] = src[r·lds + p] for r &lt; n: gathers n rows of the source into lanes. With AVX this
    /// goes through 8×8 register transposes (8 row loads, 24 shuffles, 8 stores), several times faster than the
    /// scalar gather; the packing of a transposed operand would otherwise cost a fifth of the multiply.
    /// </summary>
    public static void Transpose(float* src, nint lds, int n, int kc, int width, float* dst)
    {
        int r = 0;
        if (Avx.IsSupported)
        {
            for (; r + 8 <= n; r += 8)
            {
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                    Transpose8x8(src + r * lds + p, lds, dst + (nint)p * width + r, width);
                for (; p < kc; p++)
                for (int q = r; q < r + 8; q++)
                    dst[(nint)p * width + q] = src[q * lds + p];
            }
        }
        for (int p = 0; p < kc; p++)
        {
            float* d = dst + (nint)p * width;
            for (int q = r; q < n; q++) d[q] = src[q * lds + p];
            for (int q = n; q < width; q++) d[q] = 0f;
        }
    }

    /// <summary>dst row i (stride ldd) = column i of the 8×8 block at src (stride lds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint lds, float* dst, nint ldd)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2 * lds); var r3 = Avx.LoadVector256(src + 3 * lds);
        var r4 = Avx.LoadVector256(src + 4 * lds); var r5 = Avx.LoadVector256(src + 5 * lds);
        var r6 = Avx.LoadVector256(src + 6 * lds); var r7 = Avx.LoadVector256(src + 7 * lds);
        // Interleave pairs of rows, then pairs of pairs, within each 128-bit half...
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        // ...then join the halves: rows 0-3 of column c from s, rows 4-7 from the matching s of rows 4-7.
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * ldd, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * ldd, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * ldd, Avx.Permute2x128(s3, s7, 0x31));
    }

    /// <summary>Copies n floats (non-overlapping buffers); vectorised, without the call overhead of memmove for
    /// the short runs of packing. A ragged tail is finished by one overlapping vector copy, not a scalar loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyRun(float* src, float* dst, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16) // Vector<float> stays 256-bit on AVX-512 machines
        {
            int i = 0;
            for (; i + 16 <= n; i += 16) Vector512.Store(Vector512.Load(src + i), dst + i);
            if (i < n) Vector512.Store(Vector512.Load(src + n - 16), dst + n - 16);
        }
        else if (n >= Vector<float>.Count)
        {
            int i = 0, v = Vector<float>.Count;
            for (; i + v <= n; i += v) Vector.Store(Vector.Load(src + i), dst + i);
            if (i < n) Vector.Store(Vector.Load(src + n - v), dst + n - v);
        }
        else
            for (int i = 0; i < n; i++) dst[i] = src[i];
    }

    /// <summary>dst[i] += src[i] for n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddRun(float* src, float* dst, int n)
    {
        int i = 0, v = Vector<float>.Count;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16) Vector512.Store(Vector512.Load(dst + i) + Vector512.Load(src + i), dst + i);
        for (; i + v <= n; i += v) Vector.Store(Vector.Load(dst + i) + Vector.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] += src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ZeroRun(float* dst, int n)
    {
        int i = 0, v = Vector<float>.Count;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16) Vector512.Store(Vector512<float>.Zero, dst + i);
        for (; i + v <= n; i += v) Vector.Store(Vector<float>.Zero, dst + i);
        for (; i < n; i++) dst[i] = 0f;
    }
}
