// Fused single-head self-attention (Backends/Cpu/Reference/AttentionRef.cs) for up to 256 tokens and 256 channels:
// the U-Net's 16x16 and 8x8 levels. qkv [N, C, 3, T] (q, k, v of channel c are rows 3c, 3c + 1, 3c + 2 of T tokens),
// out [N, C, T], lse [N, T]. One block of 256 threads per (image, tile of 32 queries) keeps the tile's [32, T] logits,
// probabilities or logit gradients in shared memory, so the [T, T] matrix reaches global memory only in the backward
// (P and dS, for the column pass). Every sum runs in a fixed order: no atomics, bit-reproducible.
// fp32 FMA on CUDA cores; a tensor-core (mma.sync) version is the next step once this one is measured.
#include "common.cuh"

#define AT_TILE 32     // queries (or keys, in the column pass) per block: one per lane
#define AT_MAX_T 256   // tokens a tile row holds in shared memory
#define AT_MAX_C 256   // channels the column pass keeps accumulators for (8 per warp-lane pair)
#define AT_CK 16       // channels staged per step of the logit product
#define AT_THREADS 256 // 8 warps

struct AttentionArgs
{
    const float* qkv; const float* out_in; const float* lse_in; const float* gout;
    float* out; float* lse; float* gqkv; float* p; float* gs;
    int n, c, t;
    float scale;
};

// Row r of a tile row buffer [AT_TILE][AT_MAX_T], column j XOR-swizzled by r: a warp reading column j of 32 rows and a
// warp reading 32 columns of one row both touch 32 different banks (r < 32 and j < 256 keep j ^ r < 256).
__device__ __forceinline__ int at_sw(int r, int j) { return r * AT_MAX_T + (j ^ r); }

__device__ __forceinline__ float at_minus_inf() { return __int_as_float(0xff800000); } // NVRTC has no INFINITY macro

// acc[x][m] = sum_c a[c * lda + i0 + 4ty + x] * b[c * ldb + 32m + tx] for the tile's 32 rows and all T columns (the
// columns beyond T and rows beyond T come out 0). a and b are channel-major with T contiguous; the channels go
// through shared memory AT_CK at a time (as_: [AT_CK][32], bs: [AT_CK][tcols]). Ends with a barrier, so the caller
// may reuse the staging memory at once.
__device__ __forceinline__ void at_logits(const float* a, long long lda, const float* b, long long ldb, int i0, int C, int T,
                                          int tcols, float* as_, float* bs, float (&acc)[4][8])
{
    const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
#pragma unroll
    for (int x = 0; x < 4; ++x)
#pragma unroll
        for (int m = 0; m < 8; ++m) acc[x][m] = 0.0f;
    for (int c0 = 0; c0 < C; c0 += AT_CK)
    {
        for (int e = threadIdx.x; e < AT_CK * AT_TILE; e += AT_THREADS)
        {
            const int c = c0 + e / AT_TILE, i = i0 + e % AT_TILE;
            as_[e] = c < C && i < T ? a[c * lda + i] : 0.0f;
        }
        for (int e = threadIdx.x; e < AT_CK * tcols; e += AT_THREADS)
        {
            const int c = c0 + e / tcols, j = e % tcols;
            bs[e] = c < C && j < T ? b[c * ldb + j] : 0.0f;
        }
        __syncthreads();
#pragma unroll 4
        for (int cc = 0; cc < AT_CK; ++cc)
        {
            float av[4];
#pragma unroll
            for (int x = 0; x < 4; ++x) av[x] = as_[cc * AT_TILE + 4 * ty + x];
#pragma unroll
            for (int m = 0; m < 8; ++m)
                if (32 * m < tcols)
                {
                    const float bv = bs[cc * tcols + 32 * m + tx];
#pragma unroll
                    for (int x = 0; x < 4; ++x) acc[x][m] = fmaf(av[x], bv, acc[x][m]);
                }
        }
        __syncthreads();
    }
}

// dst[c * ldd + i0 + tx] = scale_r * sum_j rows[tx][j] * src[c * lds + j] for every channel c (lanes over the tile's rows,
// warps over channels, four channels per pass so each row value read from shared memory feeds four FMAs).
__device__ __forceinline__ void at_rows_times(const float* rows, float scale_r, const float* src, long long lds, float* dst,
                                              long long ldd, int i0, int C, int T)
{
    const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    for (int c0 = 4 * ty; c0 < C; c0 += 32)
    {
        float o[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        const float* s = src + c0 * lds;
        for (int j = 0; j < T; ++j)
        {
            const float r = rows[at_sw(tx, j)];
#pragma unroll
            for (int x = 0; x < 4; ++x)
                if (c0 + x < C) o[x] = fmaf(r, s[x * lds + j], o[x]);
        }
        if (i0 + tx < T)
#pragma unroll
            for (int x = 0; x < 4; ++x)
                if (c0 + x < C) dst[(c0 + x) * ldd + i0 + tx] = o[x] * scale_r;
    }
}

// out and lse for the tile (blockIdx.x) of image blockIdx.y.
extern "C" __global__ void __launch_bounds__(AT_THREADS) attention_forward(AttentionArgs a)
{
    __shared__ __align__(16) float rows[AT_TILE * AT_MAX_T]; // staging of the logit product, then the tile's exp(s - max)
    __shared__ float row_inv[AT_TILE];
    const int T = a.t, C = a.c, i0 = blockIdx.x * AT_TILE, tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    const int tcols = (T + 31) & ~31;
    const float* q = a.qkv + (long long)blockIdx.y * 3 * C * T;
    const long long ld = 3LL * T;
    float s[4][8];
    at_logits(q, ld, q + T, ld, i0, C, T, tcols, rows, rows + AT_CK * AT_TILE, s);
#pragma unroll
    for (int x = 0; x < 4; ++x)
#pragma unroll
        for (int m = 0; m < 8; ++m)
            if (32 * m < tcols) rows[at_sw(4 * ty + x, 32 * m + tx)] = 32 * m + tx < T ? a.scale * s[x][m] : at_minus_inf();
    // Softmax per row: warp ty owns rows 4ty .. 4ty + 3, and each lane reads back only the columns it wrote (j = tx + 32m),
    // so no barrier is needed before it (the emulator's warp-skewed schedule agrees: removing one changes nothing).
    for (int x = 0; x < 4; ++x)
    {
        const int r = 4 * ty + x;
        float mx = at_minus_inf();
        for (int j = tx; j < T; j += 32) mx = fmaxf(mx, rows[at_sw(r, j)]);
        mx = an_warp_max(mx);
        float sum = 0.0f;
        for (int j = tx; j < T; j += 32)
        {
            const float e = expf(rows[at_sw(r, j)] - mx);
            rows[at_sw(r, j)] = e;
            sum += e;
        }
        sum = an_warp_sum(sum);
        if (tx == 0)
        {
            row_inv[r] = 1.0f / sum;
            if (i0 + r < T) a.lse[(long long)blockIdx.y * T + i0 + r] = mx + logf(sum);
        }
    }
    __syncthreads();
    at_rows_times(rows, row_inv[tx], q + 2 * T, ld, a.out + (long long)blockIdx.y * C * T, T, i0, C, T);
}

// Query tile: D_i = gOut_i . out_i, P = exp(s - lse), dS = scale * P * (gOut_i . v_j - D_i); writes P and dS [N, T, T]
// for the column pass and gq = dS k.
extern "C" __global__ void __launch_bounds__(AT_THREADS) attention_backward_rows(AttentionArgs a)
{
    __shared__ __align__(16) float rows[AT_TILE * AT_MAX_T]; // staging of the two logit products, then the tile's dS
    __shared__ float partial[AT_THREADS / 32][AT_TILE];
    __shared__ float row_d[AT_TILE], row_lse[AT_TILE];
    const int T = a.t, C = a.c, i0 = blockIdx.x * AT_TILE, tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    const int tcols = (T + 31) & ~31;
    const long long image = (long long)blockIdx.y * C * T, ld = 3LL * T;
    const float* q = a.qkv + 3 * image;
    const float* go = a.gout + image;
    const float* o = a.out_in + image;
    float d = 0.0f;
    if (i0 + tx < T)
        for (int c = ty; c < C; c += AT_THREADS / 32) d = fmaf(go[c * T + i0 + tx], o[c * T + i0 + tx], d);
    partial[ty][tx] = d;
    __syncthreads();
    if (threadIdx.x < AT_TILE)
    {
        float sum = 0.0f;
        for (int w = 0; w < AT_THREADS / 32; ++w) sum += partial[w][threadIdx.x];
        row_d[threadIdx.x] = sum;
        row_lse[threadIdx.x] = i0 + threadIdx.x < T ? a.lse_in[(long long)blockIdx.y * T + i0 + threadIdx.x] : 0.0f;
    }
    // at_logits' first barrier publishes row_d and row_lse.
    float s[4][8], gp[4][8];
    at_logits(q, ld, q + T, ld, i0, C, T, tcols, rows, rows + AT_CK * AT_TILE, s);
    at_logits(go, T, q + 2 * T, ld, i0, C, T, tcols, rows, rows + AT_CK * AT_TILE, gp);
#pragma unroll
    for (int x = 0; x < 4; ++x)
#pragma unroll
        for (int m = 0; m < 8; ++m)
        {
            const int r = 4 * ty + x, j = 32 * m + tx;
            if (32 * m >= tcols) continue;
            float ds = 0.0f;
            if (j < T && i0 + r < T)
            {
                const float p = expf(a.scale * s[x][m] - row_lse[r]);
                ds = a.scale * p * (gp[x][m] - row_d[r]);
                const long long e = ((long long)blockIdx.y * T + i0 + r) * T + j;
                a.p[e] = p;
                a.gs[e] = ds;
            }
            rows[at_sw(r, j)] = ds;
        }
    __syncthreads();
    at_rows_times(rows, 1.0f, q + T, ld, a.gqkv + 3 * image, ld, i0, C, T);
}

// Key tile: gv[c, j] = sum_i P_ij gOut[c, i] and gk[c, j] = sum_i dS_ij q[c, i], the queries in order; lanes over the
// tile's keys, warps over channels (c = ty + 8k).
extern "C" __global__ void __launch_bounds__(AT_THREADS) attention_backward_columns(AttentionArgs a)
{
    __shared__ float ps[AT_CK][AT_TILE], dss[AT_CK][AT_TILE];
    __shared__ float gos[AT_MAX_C][AT_CK], qs[AT_MAX_C][AT_CK]; // [c][i]: the staging stores walk consecutive words
    const int T = a.t, C = a.c, j0 = blockIdx.x * AT_TILE, tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    const long long image = (long long)blockIdx.y * C * T, ld = 3LL * T;
    const float* q = a.qkv + 3 * image;
    const float* go = a.gout + image;
    float gv[AT_MAX_C / 8], gk[AT_MAX_C / 8];
#pragma unroll
    for (int k = 0; k < AT_MAX_C / 8; ++k) gv[k] = gk[k] = 0.0f;
    for (int i0 = 0; i0 < T; i0 += AT_CK)
    {
        for (int e = threadIdx.x; e < AT_CK * AT_TILE; e += AT_THREADS)
        {
            const int i = i0 + e / AT_TILE, j = j0 + e % AT_TILE;
            const bool in = i < T && j < T;
            const long long at = ((long long)blockIdx.y * T + i) * T + j;
            ps[e / AT_TILE][e % AT_TILE] = in ? a.p[at] : 0.0f;
            dss[e / AT_TILE][e % AT_TILE] = in ? a.gs[at] : 0.0f;
        }
        for (int e = threadIdx.x; e < AT_CK * C; e += AT_THREADS)
        {
            const int c = e / AT_CK, i = i0 + e % AT_CK;
            gos[c][e % AT_CK] = i < T ? go[c * T + i] : 0.0f;
            qs[c][e % AT_CK] = i < T ? q[c * ld + i] : 0.0f;
        }
        __syncthreads();
        for (int ii = 0; ii < AT_CK; ++ii)
        {
            const float p = ps[ii][tx], ds = dss[ii][tx];
#pragma unroll
            for (int k = 0; k < AT_MAX_C / 8; ++k)
                if (ty + 8 * k < C)
                {
                    gv[k] = fmaf(p, gos[ty + 8 * k][ii], gv[k]);
                    gk[k] = fmaf(ds, qs[ty + 8 * k][ii], gk[k]);
                }
        }
        __syncthreads();
    }
    if (j0 + tx < T)
#pragma unroll
        for (int k = 0; k < AT_MAX_C / 8; ++k)
            if (ty + 8 * k < C)
            {
                float* g = a.gqkv + 3 * image + (ty + 8 * k) * ld + j0 + tx;
                g[T] = gk[k];
                g[2 * T] = gv[k];
            }
}
