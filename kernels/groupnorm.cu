// Group normalization (optionally fused with SiLU), forward and backward; the formulas of GroupNormRef.
// One block per (sample, group): the group's C/G channels x HW pixels are contiguous in NCHW. Statistics are
// two-pass (mean, then the mean squared deviation), in float with block trees: deterministic, and accurate to
// float rounding for the group sizes of a U-Net. The weight and bias gradients need sums over samples too: each
// block writes its per-channel partial sums, and groupnorm_param_grad adds them over samples in order.
// An optional shift [N, C] is added to x as it is read (GroupNorm(x + shift): the U-Net's per-sample embedding
// bias, never written as a tensor); its gradient is gx summed over each channel's pixels (gn_channel_totals).
#include "common.cuh"

// Must match GroupNormKernelArgs in Backends/Cuda/CudaBackend.GroupNorm.cs.
struct GnArgs
{
    const float* x;
    const float* shift; // [N, C] or null
    const float* w;     // [C] or null (no affine); then b is null too
    const float* b;
    const float* gy;
    float* y;
    float* mean;        // [N, G]
    float* rstd;        // [N, G]
    float* gx;          // or null
    float* gshift;      // [N, C] or null
    float* ws;          // backward partials [2, N, C]: sum of dz, sum of dz * xhat; null when not needed
    float* gw;          // param grad: [C] or null
    float* gb;
    int n, c, hw, groups, silu;
    int accumulate;     // backward: gx += the gradient (gx holds an earlier one) instead of gx =
    float eps;
    int dropout;        // forward: y masked as DropoutRef says (Philox block counter + i/4 of stream seed, word i%4)
    unsigned long long seed, counter;
    unsigned threshold; // keep element i when (word >> 8) < threshold
    float scale;        // 1 / (1 - p)
};

__device__ __forceinline__ float gn_sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

// Calls f(cl, i) for the elements i of one group this thread owns (i = threadIdx.x + k·blockDim.x, in that order),
// cl = i / hw being i's channel within the group. When blockDim.x divides hw (every U-Net layer from 16×16 up), the
// channel advances every hw / blockDim.x elements, so the loops divide by nothing per element (an integer division by
// a runtime value is ~20 instructions: more than the element's share of a memory-bound pass); else one each.
template <typename F>
__device__ __forceinline__ void gn_each(const GnArgs& a, int size, F f)
{
    if (a.hw % blockDim.x == 0)
    {
        const int per = a.hw / blockDim.x;
        int cl = 0, k = 0;
        for (int i = threadIdx.x; i < size; i += blockDim.x)
        {
            f(cl, i);
            if (++k == per) { k = 0; ++cl; }
        }
    }
    else
        for (int i = threadIdx.x; i < size; i += blockDim.x) f(i / a.hw, i);
}

// Element i (of channel cl) of group ng's input: x, or x + shift of its channel (the same float add as a separate
// broadcast op).
__device__ __forceinline__ float gn_x(const GnArgs& a, const float* x, int ng, int cl, int i)
{
    return a.shift == nullptr ? x[i] : x[i] + a.shift[(long long)ng * (a.c / a.groups) + cl];
}

// Output element i (of channel cl) of group ng, group g of cg channels: the normalized value, affine, SiLU when fused.
__device__ __forceinline__ float gn_y(const GnArgs& a, const float* x, int ng, int g, int cg, int cl, int i, float mu, float r)
{
    float z = (gn_x(a, x, ng, cl, i) - mu) * r;
    if (a.w != nullptr) { const int c = g * cg + cl; z = z * a.w[c] + a.b[c]; }
    return a.silu ? z * gn_sigmoid(z) : z;
}

extern "C" __global__ void __launch_bounds__(256) groupnorm_forward(GnArgs a)
{
    __shared__ float scratch[32];
    const int ng = blockIdx.x, g = ng % a.groups, cg = a.c / a.groups, size = cg * a.hw;
    const long long start = (long long)ng * size; // (n*C + g*cg)*HW
    const float* x = a.x + start;
    float s = 0.0f;
    gn_each(a, size, [&](int cl, int i) { s += gn_x(a, x, ng, cl, i); });
    const float mu = an_block_sum(s, scratch) / size;
    float q = 0.0f;
    gn_each(a, size, [&](int cl, int i) { const float d = gn_x(a, x, ng, cl, i) - mu; q += d * d; });
    const float r = 1.0f / sqrtf(an_block_sum(q, scratch) / size + a.eps);
    if (threadIdx.x == 0) { a.mean[ng] = mu; a.rstd[ng] = r; }
    float* y = a.y + start;
    if (!a.dropout)
    {
        gn_each(a, size, [&](int cl, int i) { y[i] = gn_y(a, x, ng, g, cg, cl, i, mu, r); });
        return;
    }
    // Dropout: one Philox block covers four consecutive elements of the tensor; when the group starts on a block
    // boundary (size % 4 == 0, as in every U-Net layer) a thread takes whole blocks, else each element draws its own.
    // (The whole-block path also stores 16 bytes at once, so it wants y 16-byte aligned: fresh allocations are.)
    if ((size & 3) == 0 && (reinterpret_cast<unsigned long long>(a.y) & 15) == 0)
        for (int q = threadIdx.x; q < size / 4; q += blockDim.x)
        {
            const uint4 w = philox(a.seed, a.counter + (unsigned long long)((start >> 2) + q));
            const unsigned words[4] = {w.x, w.y, w.z, w.w};
            const int i0 = 4 * q, cl0 = i0 / a.hw, p0 = i0 - cl0 * a.hw; // one division per four elements
            float o[4];
#pragma unroll
            for (int t = 0; t < 4; ++t)
            {
                const int cl = p0 + t < a.hw ? cl0 : (i0 + t) / a.hw; // divides only where the four cross a channel
                const float v = gn_y(a, x, ng, g, cg, cl, i0 + t, mu, r);
                o[t] = (words[t] >> 8) < a.threshold ? v * a.scale : 0.0f;
            }
            reinterpret_cast<float4*>(y)[q] = make_float4(o[0], o[1], o[2], o[3]); // y + start: 16-byte aligned
        }
    else
        gn_each(a, size, [&](int cl, int i)
        {
            const long long e = start + i;
            const uint4 w = philox(a.seed, a.counter + (unsigned long long)(e >> 2));
            const unsigned t = (unsigned)(e & 3), word = t == 0 ? w.x : t == 1 ? w.y : t == 2 ? w.z : w.w;
            const float v = gn_y(a, x, ng, g, cg, cl, i, mu, r);
            y[i] = (word >> 8) < a.threshold ? v * a.scale : 0.0f;
        });
}

// Block totals of NV per-channel sums for the cg channels of a group, GN_CHUNK channels per pair of barriers:
// partial(cl, v) gives this thread's sums for channel cl; each warp adds its lanes' with shuffles (no barrier), a
// barrier, then warp j adds the warps' totals of channels j, j + warps, ... and lane 0 keeps them; after a second
// barrier every thread is handed them in channel order, total(cl, t). That is an_block_sum's tree, so the same bits,
// but two barriers per chunk instead of two per channel and sum: those lined every warp up behind each channel's
// slowest load, 4·cg barriers per pass (32 at the U-Net's 8-channel groups).
#define GN_CHUNK 16
#define GN_MAX_WARPS 8 // the backward's __launch_bounds__(256)
template <int NV, typename Partial, typename Total>
__device__ __forceinline__ void gn_channel_totals(int cg, Partial partial, Total total)
{
    __shared__ float part[NV][GN_CHUNK][GN_MAX_WARPS]; // [sum][channel of the chunk][warp]
    __shared__ float tot[NV][GN_CHUNK];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int c0 = 0; c0 < cg; c0 += GN_CHUNK)
    {
        const int cn = min(GN_CHUNK, cg - c0);
        for (int j = 0; j < cn; ++j)
        {
            float v[NV];
            partial(c0 + j, v);
#pragma unroll
            for (int s = 0; s < NV; ++s)
            {
                const float w = an_warp_sum(v[s]);
                if (lane == 0) part[s][j][warp] = w;
            }
        }
        __syncthreads(); // also: every thread has read the previous chunk's tot
        for (int j = warp; j < cn; j += warps)
#pragma unroll
            for (int s = 0; s < NV; ++s)
            {
                const float t = an_warp_sum(lane < warps ? part[s][j][lane] : 0.0f);
                if (lane == 0) tot[s][j] = t;
            }
        __syncthreads(); // also: part is free for the next chunk
        for (int j = 0; j < cn; ++j)
        {
            float t[NV];
#pragma unroll
            for (int s = 0; s < NV; ++s) t[s] = tot[s][j];
            total(c0 + j, t);
        }
    }
}

// dz = dL/dz for z = w*xhat + b: gy, times SiLU'(z) when fused.
__device__ __forceinline__ float gn_dz(const GnArgs& a, float gy, float xhat, float wc, float bc)
{
    if (!a.silu) return gy;
    const float z = wc * xhat + bc, s = gn_sigmoid(z);
    return gy * (s * (1.0f + z * (1.0f - s)));
}

// gx of one element of channel c, from its input value xv (x, or x + shift) and the group's mean(dxhat) md and
// mean(dxhat * xhat) mdx.
__device__ __forceinline__ float gn_gx(const GnArgs& a, float xv, float gy, float mu, float r, float md, float mdx, int c)
{
    const float wc = a.w != nullptr ? a.w[c] : 1.0f, bc = a.w != nullptr ? a.b[c] : 0.0f;
    const float xh = (xv - mu) * r, dz = gn_dz(a, gy, xh, wc, bc);
    return r * (dz * wc - md - xh * mdx);
}

// Per block: per channel, sum(dz) and sum(dz * xhat) over the pixels (partials for the parameter gradients);
// the group's sum(dxhat) and sum(dxhat * xhat) follow from them (dxhat = w_c * dz); then
// gx = rstd * (dxhat - sum(dxhat)/M - xhat * sum(dxhat * xhat)/M).
extern "C" __global__ void __launch_bounds__(256) groupnorm_backward(GnArgs a)
{
    const int ng = blockIdx.x, n = ng / a.groups, g = ng % a.groups, cg = a.c / a.groups, size = cg * a.hw;
    const long long start = (long long)ng * size;
    const float mu = a.mean[ng], r = a.rstd[ng];
    const float* x = a.x + start;
    const float* gy = a.gy + start;
    float sum_d = 0.0f, sum_dx = 0.0f;
    gn_channel_totals<2>(cg, [&](int cl, float (&v)[2])
    {
        const int c = g * cg + cl;
        const float wc = a.w != nullptr ? a.w[c] : 1.0f, bc = a.w != nullptr ? a.b[c] : 0.0f;
        float sd = 0.0f, sdx = 0.0f;
        for (int q = threadIdx.x; q < a.hw; q += blockDim.x)
        {
            const int i = cl * a.hw + q;
            const float xh = (gn_x(a, x, ng, cl, i) - mu) * r, dz = gn_dz(a, gy[i], xh, wc, bc);
            sd += dz;
            sdx += dz * xh;
        }
        v[0] = sd;
        v[1] = sdx;
    },
    [&](int cl, const float (&t)[2])
    {
        const int c = g * cg + cl;
        if (a.ws != nullptr && threadIdx.x == 0)
        {
            a.ws[(long long)n * a.c + c] = t[0];
            a.ws[((long long)a.n + n) * a.c + c] = t[1];
        }
        const float wc = a.w != nullptr ? a.w[c] : 1.0f;
        sum_d += wc * t[0];
        sum_dx += wc * t[1];
    });
    if (a.gx == nullptr && a.gshift == nullptr) return;
    const float md = sum_d / size, mdx = sum_dx / size;
    float* gx = a.gx != nullptr ? a.gx + start : nullptr;
    if (a.gshift == nullptr)
    {
        gn_each(a, size, [&](int cl, int i)
        {
            const float v = gn_gx(a, gn_x(a, x, ng, cl, i), gy[i], mu, r, md, mdx, g * cg + cl);
            gx[i] = a.accumulate ? __fadd_rn(gx[i], v) : v; // rounded v, then the add: as axpy would (no fma)
        });
        return;
    }
    // Channel by channel, so each channel's gx can be summed for the shift's gradient.
    gn_channel_totals<1>(cg, [&](int cl, float (&sg)[1])
    {
        const int c = g * cg + cl;
        sg[0] = 0.0f;
        for (int q = threadIdx.x; q < a.hw; q += blockDim.x)
        {
            const int i = cl * a.hw + q;
            const float v = gn_gx(a, gn_x(a, x, ng, cl, i), gy[i], mu, r, md, mdx, c);
            if (gx != nullptr) gx[i] = a.accumulate ? __fadd_rn(gx[i], v) : v;
            sg[0] += v;
        }
    },
    [&](int cl, const float (&t)[1]) { if (threadIdx.x == 0) a.gshift[(long long)ng * cg + cl] = t[0]; });
}

// gw[c] = sum over samples of the sum(dz * xhat) partials, gb[c] of the sum(dz) partials. A block takes 32 channels
// (lanes: consecutive, so the reads coalesce) and its 8 warps 8 consecutive slices of the samples, each summed in
// order, then the slices in order: a fixed order, and a dependent chain of N/8 loads instead of N (one thread per
// channel walking all 256 samples took ~80 us per call on the H100, latency-bound, like the bias gradient did).
#define GN_SLICES 8
extern "C" __global__ void __launch_bounds__(32 * GN_SLICES) groupnorm_param_grad(GnArgs a)
{
    __shared__ float part[2][GN_SLICES][32];
    const int lane = threadIdx.x & 31, slice = threadIdx.x >> 5, c = blockIdx.x * 32 + lane;
    const int per = (a.n + GN_SLICES - 1) / GN_SLICES, n0 = slice * per, n1 = min(a.n, n0 + per);
    float sd = 0.0f, sdx = 0.0f;
    if (c < a.c)
        for (int n = n0; n < n1; ++n)
        {
            sd += a.ws[(long long)n * a.c + c];
            sdx += a.ws[((long long)a.n + n) * a.c + c];
        }
    part[0][slice][lane] = sd;
    part[1][slice][lane] = sdx;
    __syncthreads();
    if (slice != 0 || c >= a.c) return;
    sd = 0.0f;
    sdx = 0.0f;
    for (int s = 0; s < GN_SLICES; ++s) { sd += part[0][s][lane]; sdx += part[1][s][lane]; }
    if (a.gb != nullptr) a.gb[c] = sd;
    if (a.gw != nullptr) a.gw[c] = sdx;
}
