// 2-D convolution (NCHW, fp32, square kernel, zero padding) as implicit GEMM: the im2col matrix is never
// built; each block gathers its tile of it straight into shared memory.
//
//   forward      y[n,co,p]  = sum_{ci,tap} w[co,ci,tap] * x[n,ci,in(p,tap)]          + bias[co]
//   data grad    gx[n,ci,p] = sum_{co,tap} w[co,ci,tap] * gy[n,co,out(p,tap)]        (p an input pixel)
//   weight grad  gw[co,c]   = sum_{n,q}   gy[n,co,q]    * x[n,ci,in(q,tap)]          (c = ci*K*K + tap)
//   bias grad    gb[co]     = sum_{n,q}   gy[n,co,q]     (the weight-grad blocks of column tile 0 add up the gy
//                                                          values they load anyway: no pass, no launch of its own)
//   residual     y[n,co,p]  = (conv + bias + r[n,co,p]) * scale, when given: the U-Net block's junction (h + skip)·√½
//                                                          in the forward's epilogue (ConvResidual)
//
// All three share one 128x128 block tile, BK = 8 deep, double-buffered in shared memory (one barrier per
// step), 256 threads each holding an 8x8 register tile of the output. The block tile's M axis is always a
// channel axis and N the other GEMM axis; the fp32 kernels store A = As[k][m] and B = Bs[k][n] k-major so that
// the inner product reads two float4 of A and two of B per k and does 64 FMAs.
//
// The _tf32 kernels are the same GEMMs on the tensor cores (mma.sync m16n8k8, TF32 inputs rounded once when stored
// to shared memory, fp32 accumulation): the 8 warps tile the block 2 (M) x 4 (N), each warp 64x32 = 4x4 mma tiles
// per BK = 8 step, the same 64 accumulators per thread in another arrangement (acc_row / acc_col). Their tiles are
// row-major, As[m][k] and Bs[n][k], so that ldmatrix reads the fragments: 6 instructions per k-step where 24 scalar
// loads did (tf32_at). About 1e-3 relative error against fp32 (TF32 keeps 10 mantissa bits), so behind a switch
// (CudaBackend.ConvTf32).
#include "common.cuh"

#define BM 128
#define BN 128
#define BK 8
#define NT 256
// Row stride of the fp32 kernels' k-major tiles in floats. The +4 makes loader stores that walk down k land in
// distinct banks (4k + column), and keeps rows 16-byte aligned for the float4 reads.
#define LDS (BN + 4)

// A shared tile is an array of these rows: [BK][LDS] (k-major) for the fp32 kernels, [BM or BN][BK] for the TF32 ones,
// indexed two-dimensionally (the fp32 kernels sit at their 128-register cap, and a flat k * LDS + row made ptxas
// spill 16-52 B). The TF32 rows are 32 bytes, one per m (or n), with their two 16-byte halves swapped where row / 4 is
// odd: the 8 rows one ldmatrix matrix reads (8 aligned rows, one half) then fill the 8 distinct 16-byte slots of a
// 128-byte line, and so do a warp's loader stores (4 consecutive rows × 8 words, or 8 consecutive rows × one float4).
template <bool kTf32> using TileRow = float[kTf32 ? BK : LDS];
template <bool kTf32> constexpr int kTileRows = kTf32 ? BM : BK; // BM == BN

// Column of word k in row `row` of a TF32 tile.
__device__ __forceinline__ int tf32_col(int k, int row) { return ((((k >> 2) ^ (row >> 2)) & 1) << 2) + (k & 3); }

// Element (k, row) of a TF32 tile, row being m for A and n for B.
__device__ __forceinline__ float& tf32_at(TileRow<true>* t, int k, int row) { return t[row][tf32_col(k, row)]; }

// Must match ConvArgs in Backends/Cuda/CudaBackend.Conv.cs.
struct ConvArgs
{
    const float* x;     // [N, Cin, H, W]
    const float* w;     // [Cout, Cin, K, K]
    const float* bias;  // [Cout] or null (forward only)
    const float* gy;    // [N, Cout, OH, OW]
    float* out;         // y, gx, or gw (or the split-K workspace: one gw-shaped slice per split)
    float* gbias;       // weight grad: gb [Cout] (or the workspace's bias part: one [Cout] slice per split), or null
    const float* residual; // forward: y's shape, or null; then y = (conv + bias + residual) * scale (ConvResidual)
    int n, cin, h, wd, cout, k, stride, pad, oh, ow;
    int steps_per_split; // weight grad: k-steps (BK output pixels of one image each) per blockIdx.z
    float scale;
    unsigned ow_magic;  // weight grad: an_div by ow
    int ow_shift;
    unsigned qs_magic;  // weight grad: an_div by its k-steps per image (qsteps)
    int qs_shift;
};

// out[i] = sum of the splits' slices of ws (len each), then out_b likewise from ws_b (len_b each; 0 = none).
struct ReduceArgs { const float* ws; float* out; const float* ws_b; float* out_b; long long len, len_b; int splits; };

// acc += As^T Bs over one BK-deep step. Thread (tx, ty) owns rows ty*4+{0..3}, 64+ty*4+{0..3} and columns
// tx*4+{0..3}, 64+tx*4+{0..3}: within a warp the float4 reads of A are broadcasts and those of B cover 256
// consecutive bytes, so neither conflicts.
__device__ __forceinline__ void tile_fma(const float (*As)[LDS], const float (*Bs)[LDS], float (&acc)[8][8], int tx, int ty)
{
#pragma unroll
    for (int kk = 0; kk < BK; ++kk)
    {
        const float4 a0 = *reinterpret_cast<const float4*>(&As[kk][ty * 4]);
        const float4 a1 = *reinterpret_cast<const float4*>(&As[kk][64 + ty * 4]);
        const float4 b0 = *reinterpret_cast<const float4*>(&Bs[kk][tx * 4]);
        const float4 b1 = *reinterpret_cast<const float4*>(&Bs[kk][64 + tx * 4]);
        const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int j = 0; j < 8; ++j)
                acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
}

// acc += As^T Bs over one BK-deep step on the tensor cores. Warp w covers rows (w / 4) * 64 + [0, 64) and columns
// (w % 4) * 32 + [0, 32); acc[2 mt + h][2 nt + e] is row 16 mt + g + 8 h, column 8 nt + 2 t + e of that (g = lane / 4,
// t = lane % 4), which is the mma accumulator layout. The shared tiles already hold TF32 values, row-major (tf32_at),
// and a_off / b_off are this lane's ldmatrix rows in them (mma_row_offsets).
__device__ __forceinline__ void tile_mma(const float (*As)[BK], const float (*Bs)[BK], float (&acc)[8][8], int a_off, int b_off)
{
    const float* a0 = &As[0][0] + a_off;
    const float* b0 = &Bs[0][0] + b_off;
    unsigned b[4][2];
#pragma unroll
    for (int p = 0; p < 2; ++p)
    {
        unsigned q[4];
        an_ldmatrix_x4(q, b0 + 16 * BK * p);
        b[2 * p][0] = q[0]; b[2 * p][1] = q[1]; b[2 * p + 1][0] = q[2]; b[2 * p + 1][1] = q[3];
    }
#pragma unroll
    for (int mt = 0; mt < 4; ++mt)
    {
        unsigned a[4];
        an_ldmatrix_x4(a, a0 + 16 * BK * mt);
#pragma unroll
        for (int nt = 0; nt < 4; ++nt)
        {
            float d[4] = {acc[2 * mt][2 * nt], acc[2 * mt][2 * nt + 1], acc[2 * mt + 1][2 * nt], acc[2 * mt + 1][2 * nt + 1]};
            an_mma_tf32(d, a, b[nt]);
            acc[2 * mt][2 * nt] = d[0]; acc[2 * mt][2 * nt + 1] = d[1];
            acc[2 * mt + 1][2 * nt] = d[2]; acc[2 * mt + 1][2 * nt + 1] = d[3];
        }
    }
}

// Where this lane points ldmatrix in a TF32 tile, in floats from its start: lane l gives row l % 8 of matrix l / 8, so
// one x4 load reads a 16x8 A tile's fragment, or two n-tiles' B fragments (matrices: n-tile 2p with k 0-3 and 4-7,
// then n-tile 2p + 1 likewise). Tiles 16 rows apart keep the parity of row / 4, hence the swizzle: the later tiles'
// rows are these plus constants (immediate offsets). Worked out once, before the main loop, and kept (an_keep): left
// to itself the compiler recomputed them from threadIdx in every k-step (~25 instructions; it was at its register cap).
__device__ __forceinline__ void mma_row_offsets(int& a_off, int& b_off)
{
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, r = lane & 7, j = lane >> 3;
    const int mrow = (w >> 2) * 64 + 8 * (j & 1) + r, nrow = (w & 3) * 32 + 8 * (j >> 1) + r;
    a_off = mrow * BK + tf32_col(4 * (j >> 1), r);
    b_off = nrow * BK + tf32_col(4 * (j & 1), r);
    an_keep(a_off);
    an_keep(b_off);
}

// Stores v[j] at (k, row + 32 j) of a TF32 tile. Rows 32 apart share the parity of row / 4 (the swizzle), so the four
// are one address plus immediate offsets, which the compiler does not see through tf32_at.
__device__ __forceinline__ void store_rows32(TileRow<true>* t, int k, int row, const float (&v)[4])
{
    float* p = &tf32_at(t, k, row);
#pragma unroll
    for (int j = 0; j < 4; ++j) p[32 * BK * j] = v[j];
}

// Index of the i-th row (or column) owned by a thread at position t of the 16x16 thread grid.
__device__ __forceinline__ int owned(int t, int i) { return (i < 4 ? 0 : 64 - 4) + t * 4 + i; }

// Block-tile row of acc[i][·] and column of acc[·][j] for this thread, in either arrangement.
template <bool kTf32>
__device__ __forceinline__ int acc_row(int i)
{
    if (!kTf32) return owned(threadIdx.x / 16, i);
    return (threadIdx.x >> 7) * 64 + (i >> 1) * 16 + ((threadIdx.x & 31) >> 2) + 8 * (i & 1);
}

template <bool kTf32>
__device__ __forceinline__ int acc_col(int j)
{
    if (!kTf32) return owned(threadIdx.x % 16, j);
    return ((threadIdx.x >> 5) & 3) * 32 + (j >> 1) * 8 + 2 * (threadIdx.x & 3) + (j & 1);
}

// One k-step of the block's product in either arrangement: (tx, ty) place an fp32 thread, (a_off, b_off) a TF32 lane.
template <bool kTf32>
__device__ __forceinline__ void tile_step(const TileRow<kTf32>* As, const TileRow<kTf32>* Bs, float (&acc)[8][8], int tx, int ty,
                                          int a_off, int b_off)
{
    if constexpr (kTf32) tile_mma(As, Bs, acc, a_off, b_off);
    else tile_fma(As, Bs, acc, tx, ty);
}

// Rounds a loader's registers to TF32 before they are stored for the tensor cores (once per element, not per use).
template <bool kTf32>
__device__ __forceinline__ void to_tf32(float (&ra)[4], float (&rb)[4])
{
    if (!kTf32) return;
#pragma unroll
    for (int j = 0; j < 4; ++j) { ra[j] = an_cvt_tf32(ra[j]); rb[j] = an_cvt_tf32(rb[j]); }
}

// Forward (kDataGrad = false) and data gradient (true). Both are "for each output pixel p and channel m,
// reduce over (channel r, tap)": they differ only in which tensor is gathered and how p and the tap map to a
// source pixel. The K loop runs over taps outside and channel chunks of BK inside, so a thread's source
// offset changes once per tap and the channel step is a plain stride (no division in the inner loads).
template <bool kDataGrad, bool kTf32>
struct PixelGemm
{
    int Cm, Cr;            // GEMM rows (channels produced), channels reduced over
    int Ho, Wo, Hs, Ws;    // produced image, gathered image
    int wm, wr;            // weight strides along m and r
    int P, cchunks, k, stride, pad;
    const float* S;        // gathered tensor (a kernel argument: the compiler keeps it out of the registers)
    int simg;              // offset of this thread's image in it; a pointer to the image cost ~4 more instructions
                           // per gathered element (a 64-bit add to the argument re-read from the constant bank)
    const float* W;
    int m0, ak, am;        // A loader: k row ak, channels m0 + am + 32j
    int wa, wa32;          // their weight offsets, wa + j * wa32: computed once, where the compiler formed
                           // (m0 + am + 32j) * wm anew for each j of each k-step (~3 instructions per element)
    int bc, br, by, bx;    // B loader: pixel column bc at (by, bx), k rows 4 br + j (consecutive: one float4 store into
                           // a TF32 tile's row)
    bool bvalid;
    int tap, chunk, ky, kx; // the k-step load() reads: tap (ky, kx), channels chunk * BK + [0, BK)

    __device__ PixelGemm(const ConvArgs& a, int tid)
    {
        const int KK = a.k * a.k;
        Cm = kDataGrad ? a.cin : a.cout;
        Cr = kDataGrad ? a.cout : a.cin;
        Ho = kDataGrad ? a.h : a.oh; Wo = kDataGrad ? a.wd : a.ow;
        Hs = kDataGrad ? a.oh : a.h; Ws = kDataGrad ? a.ow : a.wd;
        wm = kDataGrad ? KK : a.cin * KK;
        wr = kDataGrad ? a.cin * KK : KK;
        P = a.n * Ho * Wo;
        cchunks = (Cr + BK - 1) / BK;
        k = a.k; stride = a.stride; pad = a.pad;
        W = a.w;
        m0 = blockIdx.y * BM;
        ak = tid % BK; am = tid / BK;
        wa = (m0 + am) * wm; wa32 = 32 * wm;
        // Consecutive threads take consecutive pixels, so the gathers coalesce.
        bc = tid % BN; br = tid / BN;
        const int bp = blockIdx.x * BN + bc;
        bvalid = bp < P;
        int img = 0;
        by = bx = 0;
        if (bvalid) { img = bp / (Ho * Wo); const int rem = bp - img * Ho * Wo; by = rem / Wo; bx = rem - by * Wo; }
        S = kDataGrad ? a.gy : a.x;
        simg = img * Cr * Hs * Ws;
    }

    __device__ int steps() const { return k * k * cchunks; }

    // Positions the loader at k-step `step`; next() then moves it on by one. Stepping by counters costs a few
    // instructions where dividing the step by cchunks and k cost ~40 per step (a sixth of the TF32 forward loop).
    __device__ __forceinline__ void seek(int step)
    {
        tap = step / cchunks;
        chunk = step - tap * cchunks;
        ky = tap / k;
        kx = tap - ky * k;
    }

    __device__ __forceinline__ void next()
    {
        if (++chunk < cchunks) return;
        chunk = 0;
        ++tap;
        if (++kx == k) { kx = 0; ++ky; }
    }

    // Reads the k-step seek() and next() have reached (the mainloop passes its number too, which only WeightGemm uses).
    __device__ __forceinline__ void load(int, float (&ra)[4], float (&rb)[4]) const
    {
        const int c0 = chunk * BK;
        int off = -1;  // source pixel of this thread's column for this tap; -1 when it contributes nothing
        if (!kDataGrad)
        {
            const int iy = by * stride - pad + ky, ix = bx * stride - pad + kx;
            if (bvalid && (unsigned)iy < (unsigned)Hs && (unsigned)ix < (unsigned)Ws) off = iy * Ws + ix;
        }
        else
        {
            // Input pixel (by, bx) receives from output pixel ((by + pad - ky) / s, ...) when that divides exactly.
            // Stride 1 (every U-Net conv but the downsampling ones) skips the two divisions and two remainders: a
            // branch the whole block takes the same way, ~70 instructions less per k-step (kernel-resources.sh sass).
            const int ty = by + pad - ky, tx = bx + pad - kx;
            if (stride == 1)
            {
                if (bvalid && (unsigned)ty < (unsigned)Hs && (unsigned)tx < (unsigned)Ws) off = ty * Ws + tx;
            }
            else if (bvalid && ty >= 0 && tx >= 0 && ty % stride == 0 && tx % stride == 0)
            {
                const int oy = ty / stride, ox = tx / stride;
                if (oy < Hs && ox < Ws) off = oy * Ws + ox;
            }
        }
#pragma unroll
        for (int j = 0; j < 4; ++j)
        {
            const int c = c0 + 4 * br + j;
            rb[j] = (off >= 0 && c < Cr) ? S[simg + c * (Hs * Ws) + off] : 0.0f; // int: every tensor has an int Numel
        }
#pragma unroll
        for (int j = 0; j < 4; ++j)
        {
            const int m = m0 + am + 32 * j, c = c0 + ak;
            ra[j] = (m < Cm && c < Cr) ? W[wa + j * wa32 + c * wr + tap] : 0.0f;
        }
    }

    __device__ __forceinline__ void store(TileRow<kTf32>* As, TileRow<kTf32>* Bs, const float (&ra)[4], const float (&rb)[4]) const
    {
        if constexpr (kTf32)
        {
            store_rows32(As, ak, am, ra);
            *reinterpret_cast<float4*>(&tf32_at(Bs, 4 * br, bc)) = make_float4(rb[0], rb[1], rb[2], rb[3]);
        }
        else
#pragma unroll
            for (int j = 0; j < 4; ++j) { As[ak][am + 32 * j] = ra[j]; Bs[4 * br + j][bc] = rb[j]; }
    }
};

// Weight gradient: GEMM rows = Cout, columns c = (ci, tap) of the weight, reduced over output pixels q of
// every image (a k-step is BK pixels of one image). Both loaders use k row r (a pixel) and rows/columns
// col + 32j: eight consecutive threads read eight consecutive pixels of one plane, whole 32-byte sectors.
template <bool kTf32>
struct WeightGemm
{
    int qsteps, ow, h, wd, stride, pad, cout, cin, OHW;
    unsigned owm, qsm;     // an_div by ow and by qsteps
    int ows, qss;
    const float* x;
    const float* gy;
    int m0, r, col;
    int xo[4], dy[4], dx[4]; // column col + 32j: x offset of its tap at output pixel (0, 0) and the tap's shift
    bool cok[4];

    __device__ WeightGemm(const ConvArgs& a, int tid)
    {
        const int KK = a.k * a.k, CK = a.cin * KK;
        OHW = a.oh * a.ow; qsteps = (OHW + BK - 1) / BK;
        ow = a.ow; h = a.h; wd = a.wd; stride = a.stride; pad = a.pad; cout = a.cout; cin = a.cin;
        owm = a.ow_magic; ows = a.ow_shift; qsm = a.qs_magic; qss = a.qs_shift;
        x = a.x; gy = a.gy;
        m0 = blockIdx.y * BM;
        r = tid % BK; col = tid / BK;
#pragma unroll
        for (int j = 0; j < 4; ++j)
        {
            const int c = blockIdx.x * BN + col + 32 * j;
            cok[j] = c < CK;
            const int ci = cok[j] ? c / KK : 0, tap = cok[j] ? c - ci * KK : 0;
            dy[j] = tap / a.k - pad;
            dx[j] = tap - (tap / a.k) * a.k - pad;
            xo[j] = ci * h * wd + dy[j] * wd + dx[j];
        }
    }

    // Unlike PixelGemm, load() divides the step it is given (the mainloop's own counter: a copy kept here as a member
    // made the fp32 kernel spill 56 B), by multiply and shift (an_div): the image by qsteps, the pixel's row by ow. The
    // step is uniform across the block, so the image's division runs on the uniform datapath; an integer division
    // there cost 6 (TF32) to 16 (fp32) more instructions per k-step and kept the TF32 kernel at 128 registers (121 now).
    __device__ __forceinline__ void seek(int) {}
    __device__ __forceinline__ void next() {}

    __device__ __forceinline__ void load(int step, float (&ra)[4], float (&rb)[4]) const
    {
        const int img = an_div(step, qsm, qss);
        const int q = (step - img * qsteps) * BK + r;
        const bool qok = q < OHW;
        const int oy = an_div(q, owm, ows), ox = q - oy * ow;
        // Offsets in 32 bits: a tensor has an int Numel (64-bit pointer arithmetic cost ~6 instructions per element).
        const int sy = oy * stride, sx = ox * stride;
        const int gi = img * cout * OHW + q, xi = img * cin * h * wd + sy * wd + sx; // xo[j] adds the tap
#pragma unroll
        for (int j = 0; j < 4; ++j)
        {
            const int m = m0 + col + 32 * j;
            ra[j] = (qok && m < cout) ? gy[gi + m * OHW] : 0.0f;
            const int iy = sy + dy[j], ix = sx + dx[j];
            rb[j] = (qok && cok[j] && (unsigned)iy < (unsigned)h && (unsigned)ix < (unsigned)wd) ? x[xi + xo[j]] : 0.0f;
        }
    }

    __device__ __forceinline__ void store(TileRow<kTf32>* As, TileRow<kTf32>* Bs, const float (&ra)[4], const float (&rb)[4]) const
    {
        if constexpr (kTf32) { store_rows32(As, r, col, ra); store_rows32(Bs, r, col, rb); }
        else
#pragma unroll
            for (int j = 0; j < 4; ++j) { As[r][col + 32 * j] = ra[j]; Bs[r][col + 32 * j] = rb[j]; }
    }
};

// The main loop shared by all three: k-steps [s0, s1) of the loader's GEMM, accumulated into acc.
// The next tile is fetched into registers while the current one is multiplied; one barrier per step is
// enough because the buffer written in step s was last read in step s-1, before that step's barrier.
// With ASum::Yes, or ASum::IfGiven and asum non-null (uniform per block), asum[thread] also adds up every A value
// this thread loads, in fp32 before any TF32 rounding: the weight gradient's A is gy, so that is the bias gradient's
// share of this thread. It lives in shared memory, not registers: the kernels are at their 128-register cap and a sum
// carried through the loop would spill. The TF32 weight gradient instantiates the loop twice (ASum::Yes for the
// blocks that sum, No for the rest), so that most blocks do not issue the sum's predicated-off instructions every
// k-step (181 → 161 instructions per k-step, ptxas 12.4); the fp32 one checks asum in one loop (IfGiven): two
// loops spilled 40 B there.
enum class ASum { No, Yes, IfGiven };

template <ASum kSum>
__device__ __forceinline__ void add_loaded(float4* asum, const float (&ra)[4])
{
    if (kSum == ASum::No || (kSum == ASum::IfGiven && asum == nullptr)) return;
    float4 s = asum[threadIdx.x];
    s.x += ra[0]; s.y += ra[1]; s.z += ra[2]; s.w += ra[3];
    asum[threadIdx.x] = s;
}

template <bool kTf32>
struct Tiles
{
    TileRow<kTf32> a[2][kTileRows<kTf32>], b[2][kTileRows<kTf32>];
};

template <bool kTf32, ASum kSum, typename Loader>
__device__ __forceinline__ void gemm_mainloop(Loader& ld, int s0, int s1, float (&acc)[8][8], float4* asum, Tiles<kTf32>& t)
{
    auto& As = t.a;
    auto& Bs = t.b;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    int a_off = 0, b_off = 0;
    if constexpr (kTf32) mma_row_offsets(a_off, b_off);
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
    if (s0 >= s1) return;
    float ra[4], rb[4];
    ld.seek(s0);
    ld.load(s0, ra, rb);
    add_loaded<kSum>(asum, ra);
    to_tf32<kTf32>(ra, rb);
    ld.store(As[0], Bs[0], ra, rb);
    __syncthreads();
    for (int s = s0; s < s1; ++s)
    {
        const int buf = (s - s0) & 1;
        if (s + 1 < s1) { ld.next(); ld.load(s + 1, ra, rb); }
        tile_step<kTf32>(As[buf], Bs[buf], acc, tx, ty, a_off, b_off);
        if (s + 1 < s1)
        {
            add_loaded<kSum>(asum, ra);
            to_tf32<kTf32>(ra, rb); // after the multiply, so waiting for the prefetched loads never delays it
            ld.store(As[buf ^ 1], Bs[buf ^ 1], ra, rb);
        }
        __syncthreads();
    }
}

template <bool kDataGrad, bool kTf32>
__device__ __forceinline__ void conv_pixel_gemm(const ConvArgs& a)
{
    PixelGemm<kDataGrad, kTf32> ld(a, threadIdx.x);
    float acc[8][8];
    __shared__ __align__(16) Tiles<kTf32> tiles;
    gemm_mainloop<kTf32, ASum::No>(ld, 0, ld.steps(), acc, nullptr, tiles);

    // Epilogue: column j of this thread is pixel p = (img, rem); consecutive threads write consecutive pixels.
    const int HoWo = ld.Ho * ld.Wo;
    int base[8];
#pragma unroll
    for (int j = 0; j < 8; ++j)
    {
        const int p = blockIdx.x * BN + acc_col<kTf32>(j);
        const int img = p / HoWo;
        base[j] = p < ld.P ? img * ld.Cm * HoWo + (p - img * HoWo) : -1;
    }
#pragma unroll
    for (int i = 0; i < 8; ++i)
    {
        const int m = ld.m0 + acc_row<kTf32>(i);
        if (m >= ld.Cm) continue;
        const float b = (!kDataGrad && a.bias != nullptr) ? a.bias[m] : 0.0f;
#pragma unroll
        for (int j = 0; j < 8; ++j)
            if (base[j] >= 0)
            {
                const int o = base[j] + m * HoWo;
                const float v = acc[i][j] + b; // rounded here, as when the junction was a separate add_scaled pass
                a.out[o] = (kDataGrad || a.residual == nullptr) ? v : (v + a.residual[o]) * a.scale;
            }
    }
}

extern "C" __global__ void __launch_bounds__(NT, 2) conv2d_fwd(ConvArgs a) { conv_pixel_gemm<false, false>(a); }
extern "C" __global__ void __launch_bounds__(NT, 2) conv2d_dgrad(ConvArgs a) { conv_pixel_gemm<true, false>(a); }
extern "C" __global__ void __launch_bounds__(NT, 2) conv2d_fwd_tf32(ConvArgs a) { conv_pixel_gemm<false, true>(a); }
extern "C" __global__ void __launch_bounds__(NT, 2) conv2d_dgrad_tf32(ConvArgs a) { conv_pixel_gemm<true, true>(a); }

// The weight gradient's output is small and its reduction long (N*OH*OW), so blockIdx.z splits the
// reduction: each split writes its own gw-shaped slice of the workspace (a.out) and conv2d_wgrad_reduce sums
// the slices in a fixed order, which keeps the result deterministic (no atomics).
template <bool kTf32>
__device__ __forceinline__ void conv_weight_gemm(const ConvArgs& a)
{
    WeightGemm<kTf32> ld(a, threadIdx.x);
    const int total = a.n * ld.qsteps;
    const int s0 = blockIdx.z * a.steps_per_split;
    const bool bias = a.gbias != nullptr && blockIdx.x == 0; // one column tile sums gy for the bias
    __shared__ float4 bsum[NT];
    if (bias) bsum[threadIdx.x] = make_float4(0.0f, 0.0f, 0.0f, 0.0f); // each thread only ever touches its own slot
    float acc[8][8];
    __shared__ __align__(16) Tiles<kTf32> tiles;
    const int s1 = min(total, s0 + a.steps_per_split);
    if constexpr (!kTf32) gemm_mainloop<false, ASum::IfGiven>(ld, s0, s1, acc, bias ? bsum : nullptr, tiles);
    else if (bias) gemm_mainloop<true, ASum::Yes>(ld, s0, s1, acc, bsum, tiles);
    else gemm_mainloop<true, ASum::No>(ld, s0, s1, acc, nullptr, tiles);

    // Bias: thread (r, col) summed rows col + 32j over pixels r of each step; the 8 threads of one col are
    // consecutive lanes (r = lane % 8), so a fixed shuffle tree over them finishes each row's sum for this split.
    if (bias)
    {
        const float4 own = bsum[threadIdx.x];
        const float mine[4] = {own.x, own.y, own.z, own.w};
#pragma unroll
        for (int j = 0; j < 4; ++j)
        {
            float v = mine[j];
            v += __shfl_xor_sync(0xffffffffu, v, 1);
            v += __shfl_xor_sync(0xffffffffu, v, 2);
            v += __shfl_xor_sync(0xffffffffu, v, 4);
            const int m = ld.m0 + ld.col + 32 * j;
            if (ld.r == 0 && m < a.cout) a.gbias[(long long)blockIdx.z * a.cout + m] = v;
        }
    }

    // Every split writes its whole tile (zeros for an empty range), so the reduction reads no stale memory.
    const int CK = a.cin * a.k * a.k;
    float* out = a.out + (long long)blockIdx.z * a.cout * CK;
#pragma unroll
    for (int i = 0; i < 8; ++i)
    {
        const int m = ld.m0 + acc_row<kTf32>(i);
        if (m >= a.cout) continue;
#pragma unroll
        for (int j = 0; j < 8; ++j)
        {
            const int c = blockIdx.x * BN + acc_col<kTf32>(j);
            if (c < CK) out[m * CK + c] = acc[i][j];
        }
    }
}

extern "C" __global__ void __launch_bounds__(NT, 2) conv2d_wgrad(ConvArgs a) { conv_weight_gemm<false>(a); }
extern "C" __global__ void __launch_bounds__(NT, 2) conv2d_wgrad_tf32(ConvArgs a) { conv_weight_gemm<true>(a); }

// out[i] = sum over splits of ws[z][i], in split order; then the bias part (out_b from ws_b) the same way.
extern "C" __global__ void conv2d_wgrad_reduce(ReduceArgs a)
{
    AN_GRID_STRIDE(i, a.len + a.len_b)
    {
        const bool b = i >= a.len;
        const long long len = b ? a.len_b : a.len, k = b ? i - a.len : i;
        const float* ws = b ? a.ws_b : a.ws;
        float s = 0.0f;
        for (int z = 0; z < a.splits; ++z) s += ws[z * len + k];
        (b ? a.out_b : a.out)[k] = s;
    }
}
