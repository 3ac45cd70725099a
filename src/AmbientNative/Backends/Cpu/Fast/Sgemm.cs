using System.Runtime.Intrinsics.X86;

namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>Instruction set of the SGEMM micro-kernel.</summary>
public enum SgemmKernel
{
    /// <summary>System.Numerics.Vector&lt;float&gt; (any platform), 4×(2·Count) tile.</summary>
    Portable,
    /// <summary>AVX2 + FMA (16 ymm registers), 6×16 tile.</summary>
    Avx2,
    /// <summary>AVX-512F (32 zmm registers), 8×32 tile.</summary>
    Avx512,
}

/// <summary>
/// Single-precision GEMM on row-major matrices: C = α·op(A)·op(B) + β·C, with op(X) = X or Xᵀ.
/// <para>
/// The classic blocked structure (Goto/BLIS): for each block of columns of C (NC) and each slice of the inner
/// dimension (KC), op(B) is packed into NR-column panels that stay in L2 and stream through L1; for each block
/// of rows (MC), op(A) is packed into MR-row panels; then a register-resident MR×NR micro-kernel
/// (<see cref="SgemmKernels"/>) sweeps the tiles. Packing makes every micro-kernel load unit-stride whatever
/// the transposes and leading dimensions, and zero-pads ragged edges so the kernel never branches.
/// </para>
/// β = 0 means C is write-only (never read, as in BLAS). The packers are generic struct parameters so callers
/// in this assembly can pack straight from another layout (the convolution packs op(B) from the image: an
/// implicit im2col) with no virtual call in the loops.
/// </summary>
public static unsafe class Sgemm
{
    // Cache blocking. A KC×NR panel of B (32 KiB at 256×32) is re-read by every MR-row tile of a block and stays
    // in L1 (48 KiB here); the MC×KC block of A (192 KiB) and the KC×NC block of B (1 MiB), re-read for each
    // block of A, stay in L2 (2 MiB here).
    internal const int KC = 256, MC = 192, NC = 1024;

    /// <summary>The fastest kernel this machine supports.</summary>
    public static SgemmKernel Best { get; } =
        Avx512F.IsSupported ? SgemmKernel.Avx512 : Avx2.IsSupported && Fma.IsSupported ? SgemmKernel.Avx2 : SgemmKernel.Portable;

    public static bool IsSupported(SgemmKernel kernel) => kernel switch
    {
        SgemmKernel.Avx512 => Avx512F.IsSupported,
        SgemmKernel.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    /// <summary>
    /// C[i, j] = α·Σₚ op(A)[i, p]·op(B)[p, j] + β·C[i, j] for i &lt; m, j &lt; n, p &lt; k. Row-major storage:
    /// op(A) is m×k (A stored m×k, or k×m when <paramref name="transA"/>), op(B) is k×n (B stored k×n, or n×k
    /// when <paramref name="transB"/>); lda, ldb, ldc are the row strides of the stored matrices. When β = 0, C is
    /// not read. <paramref name="parallel"/> splits C across the cores; pass false when calling from inside an
    /// outer parallel loop. <paramref name="kernel"/> forces a micro-kernel (tests); default <see cref="Best"/>.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        bool parallel = true, SgemmKernel? kernel = null)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"sgemm: negative size m={m}, n={n}, k={k}.");
        CheckMatrix("A", a.Length, transA ? k : m, transA ? m : k, lda);
        CheckMatrix("B", b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckMatrix("C", c.Length, m, n, ldc);
        var kern = kernel ?? Best;
        if (!IsSupported(kern)) throw new PlatformNotSupportedException($"sgemm: the {kern} kernel is not supported on this CPU.");
        if (m == 0 || n == 0) return;

        fixed (float* pa = a, pb = b, pc = c)
        {
            if (k == 0 || alpha == 0f)
            {
                ScaleC(pc, ldc, m, n, beta);
                return;
            }
            var km = SgemmKernels.For(kern);
            var da = new DenseA(pa, lda, transA);
            var db = new DenseB(pb, ldb, transB);
            int threads = parallel ? Environment.ProcessorCount : 1;
            // Below ~1 M multiply-adds a fork/join costs more than it saves.
            if (threads == 1 || (long)m * n * k < (1 << 20))
            {
                var ws = Workspace.Rent();
                try { Serial(da, db, m, n, k, alpha, beta, pc, ldc, km, ws); }
                finally { Workspace.Return(ws); }
                return;
            }
            // Split the larger side of C into one slab per thread, on tile boundaries; each thread packs its own
            // panels (the other operand is packed once per thread: a small, O(mk + kn) duplication).
            bool splitN = n >= m;
            int tile = splitN ? km.NR : km.MR, extent = splitN ? n : m;
            int per = RoundUp((extent + threads - 1) / threads, tile);
            int slabs = (extent + per - 1) / per;
            nint cp = (nint)pc;
            Workspace.For(slabs, true, (s, ws) =>
            {
                int lo = s * per, len = Math.Min(per, extent - lo);
                if (splitN) Serial(da, db.Columns(lo), m, len, k, alpha, beta, (float*)cp + lo, ldc, km, ws);
                else Serial(da.Rows(lo), db, len, n, k, alpha, beta, (float*)cp + (nint)lo * ldc, ldc, km, ws);
            });
        }
    }

    private static void CheckMatrix(string name, int length, int rows, int cols, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"sgemm: leading dimension of {name} is {ld}, but {name} is stored {rows}×{cols} (need ≥ {Math.Max(1, cols)}).");
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"sgemm: {name} has {length} elements, but a {rows}×{cols} matrix with leading dimension {ld} needs {need}.");
    }

    private static void ScaleC(float* c, nint ldc, int m, int n, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + i * ldc, n);
            if (beta == 0f) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>The slice of the inner dimension packed at once: K split into equal parts of at most KC.</summary>
    internal static int KcFor(int k)
    {
        int blocks = (k + KC - 1) / KC;
        return (k + blocks - 1) / blocks;
    }

    /// <summary>
    /// The single-threaded blocked GEMM, packing into the worker's workspace <paramref name="ws"/>. <paramref name="c"/> is the m×n output with row
    /// stride <paramref name="ldc"/>; a and b produce packed panels of op(A) and op(B).
    /// </summary>
    internal static void Serial<TA, TB>(in TA a, in TB b, int m, int n, int k, float alpha, float beta,
        float* c, nint ldc, in SgemmKernels.Micro km, Workspace ws)
        where TA : struct, IPackA where TB : struct, IPackB
    {
        if (m == 0 || n == 0) return;
        int mr = km.MR, nr = km.NR;
        int kcMax = KcFor(k);
        int mcMax = MC / mr * mr, ncMax = NC / nr * nr;
        float* bufA = ws.Get(Workspace.GemmA, (long)mcMax * kcMax);
        float* bufB = ws.Get(Workspace.GemmB, (long)Math.Min(ncMax, RoundUp(n, nr)) * kcMax);
        float* edge = stackalloc float[mr * nr];
        var run = km.Run;

        for (int jc = 0; jc < n; jc += ncMax)
        {
            int nc = Math.Min(ncMax, n - jc);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                float betaNow = pc == 0 ? beta : 1f; // later K slices accumulate onto the first
                float* pb = b.Pack(pc, kc, jc, nc, nr, bufB);
                for (int ic = 0; ic < m; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, m - ic);
                    float* pa = a.Pack(ic, mc, pc, kc, mr, bufA);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nn = Math.Min(nr, nc - jr);
                        float* bPanel = pb + (nint)jr * kc;
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int mm = Math.Min(mr, mc - ir);
                            float* aPanel = pa + (nint)ir * kc;
                            float* cTile = c + (ic + ir) * ldc + jc + jr;
                            if (mm == mr && nn == nr)
                            {
                                run(kc, aPanel, bPanel, cTile, ldc, alpha, betaNow);
                                continue;
                            }
                            // Ragged edge: the padded panels give a full tile; keep only its valid part.
                            run(kc, aPanel, bPanel, edge, nr, 1f, 0f);
                            for (int i = 0; i < mm; i++)
                            for (int j = 0; j < nn; j++)
                            {
                                float v = alpha * edge[i * nr + j];
                                cTile[i * ldc + j] = betaNow == 0f ? v : v + betaNow * cTile[i * ldc + j];
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Serial"/> with an indirect B, for the AVX-512 8×32 kernel: op(B)[p, jr + t] =
    /// b[panelOffs[jr / 32] + rowOffs[p] + t] for t &lt; 32. Nothing of B is packed; n must be a multiple of 32.
    /// </summary>
    internal static void SerialIndirect<TA>(in TA a, float* b, nint* rowOffs, nint* panelOffs, int m, int n, int k,
        float alpha, float beta, float* c, nint ldc, Workspace ws) where TA : struct, IPackA
    {
        const int mr = 8, nr = 32;
        int kcMax = KcFor(k), mcMax = MC / mr * mr;
        float* bufA = ws.Get(Workspace.GemmA, (long)mcMax * kcMax);
        float* edge = stackalloc float[mr * nr];
        for (int pc = 0; pc < k; pc += kcMax)
        {
            int kc = Math.Min(kcMax, k - pc);
            float betaNow = pc == 0 ? beta : 1f;
            for (int ic = 0; ic < m; ic += mcMax)
            {
                int mc = Math.Min(mcMax, m - ic);
                float* pa = a.Pack(ic, mc, pc, kc, mr, bufA);
                for (int jr = 0; jr < n; jr += nr)
                {
                    float* bPanel = b + panelOffs[jr / nr];
                    for (int ir = 0; ir < mc; ir += mr)
                    {
                        int mm = Math.Min(mr, mc - ir);
                        float* cTile = c + (ic + ir) * ldc + jr;
                        if (mm == mr)
                        {
                            SgemmKernels.Avx512_8x32_Indirect(kc, pa + (nint)ir * kc, bPanel, rowOffs + pc, cTile, ldc, alpha, betaNow);
                            continue;
                        }
                        SgemmKernels.Avx512_8x32_Indirect(kc, pa + (nint)ir * kc, bPanel, rowOffs + pc, edge, nr, 1f, 0f);
                        for (int i = 0; i < mm; i++)
                        for (int j = 0; j < nr; j++)
                        {
                            float v = alpha * edge[i * nr + j];
                            cTile[i * ldc + j] = betaNow == 0f ? v : v + betaNow * cTile[i * ldc + j];
                        }
                    }
                }
            }
        }
    }

    /// <summary>Floats needed by <see cref="PrepackA"/> for an m×k op(A).</summary>
    internal static long PackedASize(int m, int k, in SgemmKernels.Micro km) => (long)RoundUp(m, km.MR) * k;

    /// <summary>
    /// Packs all of op(A) once, in the order <see cref="Serial"/> consumes it (K slice by K slice, MR-row
    /// panels within a slice), so that many GEMMs sharing one A (a convolution's weights across images and
    /// column blocks) skip the repacking. Read it back with <see cref="PrepackedA"/>.
    /// </summary>
    internal static void PrepackA<TA>(in TA a, int m, int k, in SgemmKernels.Micro km, float* dst) where TA : struct, IPackA
    {
        int kcMax = KcFor(k), mPad = RoundUp(m, km.MR);
        for (int pc = 0; pc < k; pc += kcMax)
            a.Pack(0, m, pc, Math.Min(kcMax, k - pc), km.MR, dst + (nint)pc * mPad);
    }

    internal static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}

/// <summary>Produces packed panels of op(A): rows [i0, i0+mc) by inner indices [p0, p0+kc), as ⌈mc/mr⌉ panels of
/// kc×mr floats (panel r at offset r·mr·kc, element (i, p) at p·mr + i), rows past mc zero. Returns the panels
/// (usually <paramref name="buf"/>).</summary>
internal unsafe interface IPackA
{
    float* Pack(int i0, int mc, int p0, int kc, int mr, float* buf);
}

/// <summary>Produces packed panels of op(B): inner indices [p0, p0+kc) by columns [j0, j0+nc), as ⌈nc/nr⌉
/// panels of kc×nr floats (element (p, j) at p·nr + j), columns past nc zero.</summary>
internal unsafe interface IPackB
{
    float* Pack(int p0, int kc, int j0, int nc, int nr, float* buf);
}

/// <summary>op(A) from a row-major matrix (A[i, p] at i·ld + p, or at p·ld + i when transposed).</summary>
internal readonly unsafe struct DenseA(float* a, nint ld, bool trans) : IPackA
{
    public DenseA Rows(int i0) => new(trans ? a + i0 : a + i0 * ld, ld, trans);

    public float* Pack(int i0, int mc, int p0, int kc, int mr, float* buf)
    {
        if (trans) Packing.CopyPanels(a + p0 * ld + i0, ld, mc, kc, mr, buf);
        else
            for (int ir = 0; ir < mc; ir += mr)
                Packing.Transpose(a + (i0 + ir) * ld + p0, ld, Math.Min(mr, mc - ir), kc, mr, buf + (nint)ir * kc);
        return buf;
    }
}

/// <summary>op(B) from a row-major matrix (B[p, j] at p·ld + j, or at j·ld + p when transposed).</summary>
internal readonly unsafe struct DenseB(float* b, nint ld, bool trans) : IPackB
{
    public DenseB Columns(int j0) => new(trans ? b + j0 * ld : b + j0, ld, trans);

    public float* Pack(int p0, int kc, int j0, int nc, int nr, float* buf)
    {
        if (!trans) Packing.CopyPanels(b + p0 * ld + j0, ld, nc, kc, nr, buf);
        else
            for (int jr = 0; jr < nc; jr += nr)
                Packing.Transpose(b + (j0 + jr) * ld + p0, ld, Math.Min(nr, nc - jr), kc, nr, buf + (nint)jr * kc);
        return buf;
    }
}

/// <summary>op(A) already packed by <see cref="Sgemm.PrepackA"/> for an m-row A: no work, just an offset.
/// <paramref name="row0"/> (a multiple of MR) selects a block of rows starting there.</summary>
internal readonly unsafe struct PrepackedA(float* packed, int m, int mr, int row0 = 0) : IPackA
{
    private readonly int _mPad = row0 % mr == 0 ? Sgemm.RoundUp(m, mr)
        : throw new ArgumentException($"Prepacked A rows can only be entered at a multiple of MR = {mr}, not {row0}.");
    public float* Pack(int i0, int mc, int p0, int kc, int mrIgnored, float* buf) =>
        packed + (nint)p0 * _mPad + (nint)(row0 + i0) * kc;
}

/// <summary>
/// op(A) = [W | bias]: a row-major m×k weight matrix with the bias as an extra last column k. Against a B whose
/// row k is all ones, the GEMM adds the bias itself, so the output needs no separate fill and stays write-only.
/// </summary>
internal readonly unsafe struct WeightWithBiasA(float* w, int k, float* bias) : IPackA
{
    public float* Pack(int i0, int mc, int p0, int kc, int mr, float* buf)
    {
        int kcW = Math.Min(kc, k - p0); // columns of W in this slice; the bias column follows if kcW < kc
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* panel = buf + (nint)ir * kc;
            Packing.Transpose(w + (nint)(i0 + ir) * k + p0, k, rows, kcW, mr, panel);
            if (kcW < kc)
                for (int r = 0; r < mr; r++) panel[(nint)kcW * mr + r] = r < rows ? bias[i0 + ir + r] : 0f;
        }
        return buf;
    }
}
