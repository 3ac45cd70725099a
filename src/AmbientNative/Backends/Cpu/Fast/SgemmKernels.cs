using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// Register-blocked SGEMM micro-kernels. Each computes one MR×NR tile of C from packed panels:
/// a = MR values per k step (k-major), b = NR values per k step, and writes C = α·acc + β·C (β = 0: C is not
/// read, so NaN garbage in C cannot leak). The tile is held entirely in vector registers; the k loop is one
/// load of B per vector column, one broadcast per row of A and MR·NR/lanes FMAs. Kept fully unrolled by hand
/// because the JIT does not unroll loops, and a loop over an array of accumulators would spill them to memory.
/// </summary>
internal static unsafe class SgemmKernels
{
    /// <summary>The micro-kernel of one instruction set: tile shape and entry point.</summary>
    internal readonly struct Micro(int mr, int nr, delegate*<int, float*, float*, float*, nint, float, float, void> run)
    {
        public readonly int MR = mr, NR = nr;
        public readonly delegate*<int, float*, float*, float*, nint, float, float, void> Run = run;
    }

    public static Micro For(SgemmKernel kernel) => kernel switch
    {
        SgemmKernel.Avx512 => new Micro(8, 32, &Avx512_8x32),
        SgemmKernel.Avx2 => new Micro(6, 16, &Avx2_6x16),
        _ => new Micro(4, 2 * Vector<float>.Count, &Portable_4xV2),
    };

    /// <summary>AVX-512, 8×32 tile: 16 zmm accumulators; per k step 2 loads of B, 8 broadcasts of A, 16 FMAs.
    /// Unrolled by two k steps: in cache it then runs at 95-100% of the measured FMA peak (82-97% without).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512_8x32(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c00 = default, c01 = default;
        Vector512<float> c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default;
        Vector512<float> c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default;
        Vector512<float> c70 = default, c71 = default;
        Vector512<float> b0, b1, a0, a1, a2, a3, a4, a5, a6, a7;
        int p = 0;
        for (; p + 2 <= kc; p += 2) // two k steps per trip: half the loop overhead on the FMA ports
        {
            b0 = Vector512.Load(b + 0); b1 = Vector512.Load(b + 16);
            a0 = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            a1 = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            a2 = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            a3 = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            a4 = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            a5 = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            a6 = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            a7 = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            b0 = Vector512.Load(b + 32); b1 = Vector512.Load(b + 48);
            a0 = Vector512.Create(a[8]); c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            a1 = Vector512.Create(a[9]); c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            a2 = Vector512.Create(a[10]); c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            a3 = Vector512.Create(a[11]); c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            a4 = Vector512.Create(a[12]); c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            a5 = Vector512.Create(a[13]); c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            a6 = Vector512.Create(a[14]); c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            a7 = Vector512.Create(a[15]); c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            a += 16;
            b += 64;
        }
        if (p < kc)
        {
            b0 = Vector512.Load(b + 0); b1 = Vector512.Load(b + 16);
            a0 = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            a1 = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            a2 = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            a3 = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            a4 = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            a5 = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            a6 = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            a7 = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        if (beta == 0f)
        {
            (va * c00).Store(c + 0 * ldc); (va * c01).Store(c + 0 * ldc + 16);
            (va * c10).Store(c + 1 * ldc); (va * c11).Store(c + 1 * ldc + 16);
            (va * c20).Store(c + 2 * ldc); (va * c21).Store(c + 2 * ldc + 16);
            (va * c30).Store(c + 3 * ldc); (va * c31).Store(c + 3 * ldc + 16);
            (va * c40).Store(c + 4 * ldc); (va * c41).Store(c + 4 * ldc + 16);
            (va * c50).Store(c + 5 * ldc); (va * c51).Store(c + 5 * ldc + 16);
            (va * c60).Store(c + 6 * ldc); (va * c61).Store(c + 6 * ldc + 16);
            (va * c70).Store(c + 7 * ldc); (va * c71).Store(c + 7 * ldc + 16);
        }
        else
        {
            Update(c + 0 * ldc, c00, va, vb); Update(c + 0 * ldc + 16, c01, va, vb);
            Update(c + 1 * ldc, c10, va, vb); Update(c + 1 * ldc + 16, c11, va, vb);
            Update(c + 2 * ldc, c20, va, vb); Update(c + 2 * ldc + 16, c21, va, vb);
            Update(c + 3 * ldc, c30, va, vb); Update(c + 3 * ldc + 16, c31, va, vb);
            Update(c + 4 * ldc, c40, va, vb); Update(c + 4 * ldc + 16, c41, va, vb);
            Update(c + 5 * ldc, c50, va, vb); Update(c + 5 * ldc + 16, c51, va, vb);
            Update(c + 6 * ldc, c60, va, vb); Update(c + 6 * ldc + 16, c61, va, vb);
            Update(c + 7 * ldc, c70, va, vb); Update(c + 7 * ldc + 16, c71, va, vb);
        }
    }

    /// <summary>
    /// The AVX-512 8×32 kernel with an indirect B: the 32 values of k step p are read at b + offs[p] instead of
    /// from a packed panel. The convolution points it into a zero-padded copy of the image, so the K²-times
    /// larger column matrix is never written (indirect convolution).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Avx512_8x32_Indirect(int kc, float* a, float* b, nint* offs, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c00 = default, c01 = default;
        Vector512<float> c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default;
        Vector512<float> c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default;
        Vector512<float> c70 = default, c71 = default;
        Vector512<float> b0, b1, a0, a1, a2, a3, a4, a5, a6, a7;
        float* bp;
        int p = 0;
        for (; p + 2 <= kc; p += 2)
        {
            bp = b + offs[p];
            b0 = Vector512.Load(bp); b1 = Vector512.Load(bp + 16);
            a0 = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            a1 = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            a2 = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            a3 = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            a4 = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            a5 = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            a6 = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            a7 = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            bp = b + offs[p + 1];
            b0 = Vector512.Load(bp); b1 = Vector512.Load(bp + 16);
            a0 = Vector512.Create(a[8]); c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            a1 = Vector512.Create(a[9]); c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            a2 = Vector512.Create(a[10]); c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            a3 = Vector512.Create(a[11]); c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            a4 = Vector512.Create(a[12]); c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            a5 = Vector512.Create(a[13]); c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            a6 = Vector512.Create(a[14]); c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            a7 = Vector512.Create(a[15]); c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            a += 16;
        }
        if (p < kc)
        {
            bp = b + offs[p];
            b0 = Vector512.Load(bp); b1 = Vector512.Load(bp + 16);
            a0 = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            a1 = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            a2 = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            a3 = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            a4 = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            a5 = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            a6 = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            a7 = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        if (beta == 0f)
        {
            (va * c00).Store(c + 0 * ldc); (va * c01).Store(c + 0 * ldc + 16);
            (va * c10).Store(c + 1 * ldc); (va * c11).Store(c + 1 * ldc + 16);
            (va * c20).Store(c + 2 * ldc); (va * c21).Store(c + 2 * ldc + 16);
            (va * c30).Store(c + 3 * ldc); (va * c31).Store(c + 3 * ldc + 16);
            (va * c40).Store(c + 4 * ldc); (va * c41).Store(c + 4 * ldc + 16);
            (va * c50).Store(c + 5 * ldc); (va * c51).Store(c + 5 * ldc + 16);
            (va * c60).Store(c + 6 * ldc); (va * c61).Store(c + 6 * ldc + 16);
            (va * c70).Store(c + 7 * ldc); (va * c71).Store(c + 7 * ldc + 16);
        }
        else
        {
            Update(c + 0 * ldc, c00, va, vb); Update(c + 0 * ldc + 16, c01, va, vb);
            Update(c + 1 * ldc, c10, va, vb); Update(c + 1 * ldc + 16, c11, va, vb);
            Update(c + 2 * ldc, c20, va, vb); Update(c + 2 * ldc + 16, c21, va, vb);
            Update(c + 3 * ldc, c30, va, vb); Update(c + 3 * ldc + 16, c31, va, vb);
            Update(c + 4 * ldc, c40, va, vb); Update(c + 4 * ldc + 16, c41, va, vb);
            Update(c + 5 * ldc, c50, va, vb); Update(c + 5 * ldc + 16, c51, va, vb);
            Update(c + 6 * ldc, c60, va, vb); Update(c + 6 * ldc + 16, c61, va, vb);
            Update(c + 7 * ldc, c70, va, vb); Update(c + 7 * ldc + 16, c71, va, vb);
        }
    }

    /// <summary>AVX2 + FMA, 6×16 tile: 12 ymm accumulators (of 16 registers); per k step 2 loads of B, 6 broadcasts, 12 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx2_6x16(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default;
        Vector256<float> c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default;
        Vector256<float> c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(a0, b0, c00); c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(a1, b0, c10); c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(a2, b0, c20); c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(a3, b0, c30); c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(a4, b0, c40); c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(a5, b0, c50); c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += 6;
            b += 16;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        if (beta == 0f)
        {
            (va * c00).Store(c + 0 * ldc); (va * c01).Store(c + 0 * ldc + 8);
            (va * c10).Store(c + 1 * ldc); (va * c11).Store(c + 1 * ldc + 8);
            (va * c20).Store(c + 2 * ldc); (va * c21).Store(c + 2 * ldc + 8);
            (va * c30).Store(c + 3 * ldc); (va * c31).Store(c + 3 * ldc + 8);
            (va * c40).Store(c + 4 * ldc); (va * c41).Store(c + 4 * ldc + 8);
            (va * c50).Store(c + 5 * ldc); (va * c51).Store(c + 5 * ldc + 8);
        }
        else
        {
            Update(c + 0 * ldc, c00, va, vb); Update(c + 0 * ldc + 8, c01, va, vb);
            Update(c + 1 * ldc, c10, va, vb); Update(c + 1 * ldc + 8, c11, va, vb);
            Update(c + 2 * ldc, c20, va, vb); Update(c + 2 * ldc + 8, c21, va, vb);
            Update(c + 3 * ldc, c30, va, vb); Update(c + 3 * ldc + 8, c31, va, vb);
            Update(c + 4 * ldc, c40, va, vb); Update(c + 4 * ldc + 8, c41, va, vb);
            Update(c + 5 * ldc, c50, va, vb); Update(c + 5 * ldc + 8, c51, va, vb);
        }
    }

    /// <summary>Portable Vector&lt;float&gt;, 4×(2·Count) tile: 8 accumulators, few enough for 16-register ISAs (NEON has 32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Portable_4xV2(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        int v = Vector<float>.Count;
        Vector<float> c00 = default, c01 = default;
        Vector<float> c10 = default, c11 = default;
        Vector<float> c20 = default, c21 = default;
        Vector<float> c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector.Load(b);
            var b1 = Vector.Load(b + v);
            var a0 = new Vector<float>(a[0]); c00 = Vector.MultiplyAddEstimate(a0, b0, c00); c01 = Vector.MultiplyAddEstimate(a0, b1, c01);
            var a1 = new Vector<float>(a[1]); c10 = Vector.MultiplyAddEstimate(a1, b0, c10); c11 = Vector.MultiplyAddEstimate(a1, b1, c11);
            var a2 = new Vector<float>(a[2]); c20 = Vector.MultiplyAddEstimate(a2, b0, c20); c21 = Vector.MultiplyAddEstimate(a2, b1, c21);
            var a3 = new Vector<float>(a[3]); c30 = Vector.MultiplyAddEstimate(a3, b0, c30); c31 = Vector.MultiplyAddEstimate(a3, b1, c31);
            a += 4;
            b += 2 * v;
        }
        var va = new Vector<float>(alpha);
        var vb = new Vector<float>(beta);
        if (beta == 0f)
        {
            (va * c00).Store(c + 0 * ldc); (va * c01).Store(c + 0 * ldc + v);
            (va * c10).Store(c + 1 * ldc); (va * c11).Store(c + 1 * ldc + v);
            (va * c20).Store(c + 2 * ldc); (va * c21).Store(c + 2 * ldc + v);
            (va * c30).Store(c + 3 * ldc); (va * c31).Store(c + 3 * ldc + v);
        }
        else
        {
            Update(c + 0 * ldc, c00, va, vb); Update(c + 0 * ldc + v, c01, va, vb);
            Update(c + 1 * ldc, c10, va, vb); Update(c + 1 * ldc + v, c11, va, vb);
            Update(c + 2 * ldc, c20, va, vb); Update(c + 2 * ldc + v, c21, va, vb);
            Update(c + 3 * ldc, c30, va, vb); Update(c + 3 * ldc + v, c31, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector512<float> acc, Vector512<float> alpha, Vector512<float> beta) =>
        Avx512F.FusedMultiplyAdd(beta, Vector512.Load(c), alpha * acc).Store(c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector256<float> acc, Vector256<float> alpha, Vector256<float> beta) =>
        Fma.MultiplyAdd(beta, Vector256.Load(c), alpha * acc).Store(c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector<float> acc, Vector<float> alpha, Vector<float> beta) =>
        (alpha * acc + beta * Vector.Load(c)).Store(c);
}
