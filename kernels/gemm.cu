// Batched SGEMM C[z] = alpha * op(A[z]) * op(B[z]) + beta * C[z] over contiguous row-major operands (layouts in
// Backends/GemmArgs.cs), and the row broadcast of Linear's bias. Beta = 0 never reads C (stale NaNs stay out).
//
// Block tile BM x BN x BK: 64 x 64 x 16 or 128 x 128 x 8 (BK = 8 keeps the big tile's staging registers at 8, so
// its 64 accumulators fit 128 registers without spills), 256 threads as a 16 x 16 grid, each owning a
// (BM/16) x (BN/16) register tile. A and B tiles are staged k-major in shared memory (As[k][m], Bs[k][n]) and
// double-buffered: the next tile is fetched into registers while the current one is multiplied, and one barrier
// per step suffices because the buffer written in step s was last read in step s - 1, before its barrier. The
// loaders walk each operand along its contiguous axis (k for A = [M, K] and B^T = [N, K], m or n otherwise), so
// global reads coalesce for every transpose; rows are padded by 4 floats, which keeps float4 reads aligned.
#include "common.cuh"

#define GNT 256

// Must match GemmKernelArgs in Backends/Cuda/CudaBackend.MatMul.cs.
struct GemmArgs
{
    const float* a;
    const float* b;
    float* c;
    long long sa, sb, sc; // batch strides (M*K, K*N, M*N); blockIdx.z is the batch (the host launches <= 65535)
    int m, n, k;
    float alpha, beta;
};

// Row (or column) of the block tile owned by thread position t (0..15), i-th of T: in groups of 4 consecutive,
// 64 apart, so each group is one float4 read from shared memory.
__device__ __forceinline__ int gemm_owned(int t, int i) { return (i / 4) * 64 + t * 4 + (i % 4); }

template <int BM, int BN, int GBK, bool TA, bool TB>
__device__ __forceinline__ void gemm_tile(const GemmArgs& p)
{
    constexpr int TM = BM / 16, TN = BN / 16;
    constexpr int LA = BM * GBK / GNT, LB = BN * GBK / GNT; // loads per thread per step
    __shared__ __align__(16) float As[2][GBK][BM + 4];
    __shared__ __align__(16) float Bs[2][GBK][BN + 4];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int steps = (p.k + GBK - 1) / GBK;

    const long long z = blockIdx.z;
    const float* A = p.a + z * p.sa;
    const float* B = p.b + z * p.sb;
    float* C = p.c + z * p.sc;
    float ra[LA], rb[LB];

    // Element e (0 .. BM*GBK) of the A tile is (kk, mm); consecutive e run along A's contiguous axis.
    auto a_at = [&](int e, int& kk, int& mm) { if (TA) { mm = e % BM; kk = e / BM; } else { kk = e % GBK; mm = e / GBK; } };
    auto b_at = [&](int e, int& kk, int& nn) { if (TB) { kk = e % GBK; nn = e / GBK; } else { nn = e % BN; kk = e / BN; } };
    auto load = [&](int s)
    {
        const int k0 = s * GBK;
#pragma unroll
        for (int j = 0; j < LA; ++j)
        {
            int kk, mm;
            a_at(tid + GNT * j, kk, mm);
            const int m = m0 + mm, k = k0 + kk;
            ra[j] = (m < p.m && k < p.k) ? A[TA ? k * p.m + m : m * p.k + k] : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < LB; ++j)
        {
            int kk, nn;
            b_at(tid + GNT * j, kk, nn);
            const int n = n0 + nn, k = k0 + kk;
            rb[j] = (n < p.n && k < p.k) ? B[TB ? n * p.k + k : k * p.n + n] : 0.0f;
        }
    };
    auto store = [&](int buf)
    {
#pragma unroll
        for (int j = 0; j < LA; ++j) { int kk, mm; a_at(tid + GNT * j, kk, mm); As[buf][kk][mm] = ra[j]; }
#pragma unroll
        for (int j = 0; j < LB; ++j) { int kk, nn; b_at(tid + GNT * j, kk, nn); Bs[buf][kk][nn] = rb[j]; }
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    load(0);
    store(0);
    __syncthreads();
    for (int s = 0; s < steps; ++s)
    {
        const int buf = s & 1;
        if (s + 1 < steps) load(s + 1);
#pragma unroll
        for (int kk = 0; kk < GBK; ++kk)
        {
            float av[TM], bv[TN];
#pragma unroll
            for (int q = 0; q < TM / 4; ++q)
            {
                const float4 v = *reinterpret_cast<const float4*>(&As[buf][kk][q * 64 + ty * 4]);
                av[4 * q] = v.x; av[4 * q + 1] = v.y; av[4 * q + 2] = v.z; av[4 * q + 3] = v.w;
            }
#pragma unroll
            for (int q = 0; q < TN / 4; ++q)
            {
                const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][kk][q * 64 + tx * 4]);
                bv[4 * q] = v.x; bv[4 * q + 1] = v.y; bv[4 * q + 2] = v.z; bv[4 * q + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        if (s + 1 < steps) store(buf ^ 1);
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < TM; ++i)
    {
        const int m = m0 + gemm_owned(ty, i);
        if (m >= p.m) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j)
        {
            const int n = n0 + gemm_owned(tx, j);
            if (n >= p.n) continue;
            float* cp = C + m * p.n + n;
            const float v = p.alpha * acc[i][j];
            *cp = p.beta == 0.0f ? v : v + p.beta * *cp;
        }
    }
}

#define GEMM_KERNEL(name, BM, BK, TA, TB, MINB) \
    extern "C" __global__ void __launch_bounds__(GNT, MINB) name(GemmArgs p) { gemm_tile<BM, BM, BK, TA, TB>(p); }

GEMM_KERNEL(gemm64_nn, 64, 16, false, false, 3)
GEMM_KERNEL(gemm64_nt, 64, 16, false, true, 3)
GEMM_KERNEL(gemm64_tn, 64, 16, true, false, 3)
GEMM_KERNEL(gemm64_tt, 64, 16, true, true, 3)
GEMM_KERNEL(gemm128_nn, 128, 8, false, false, 2)
GEMM_KERNEL(gemm128_nt, 128, 8, false, true, 2)
GEMM_KERNEL(gemm128_tn, 128, 8, true, false, 2)
GEMM_KERNEL(gemm128_tt, 128, 8, true, true, 2)

// Must match RowsArgs in Backends/Cuda/CudaBackend.MatMul.cs.
struct RowsArgs { const float* bias; float* y; long long total; int n; };

// y[r, j] = bias[j] for y [total / n, n].
extern "C" __global__ void broadcast_rows(RowsArgs a)
{
    AN_GRID_STRIDE(i, a.total) a.y[i] = a.bias[i % a.n];
}
