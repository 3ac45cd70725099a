// Reductions: sums along an axis (x seen as [outer, size, inner], see AxisGeometry) and their backward, and the
// row-wise softmax. Every sum has a fixed order (block trees, in-order loops), so results are reproducible.
#include "common.cuh"

// Must match SumArgs in Backends/Cuda/CudaBackend.Reduce.cs.
struct SumArgs
{
    const float* x;
    float* y;
    int outer, size, inner;
    int chunk;   // elements of the summed axis per split
    int splits;  // y is [outer, splits, inner]: partial sums of consecutive chunks (1 = the sum itself)
    float scale;
};

// inner == 1 (contiguous rows: whole-tensor sums, per-sample sums): one block per (row, split), the block's
// threads stride along the row and meet in a block tree.
extern "C" __global__ void __launch_bounds__(256) sum_inner(SumArgs a)
{
    __shared__ float scratch[32];
    const long long parts = (long long)a.outer * a.splits;
    for (long long b = blockIdx.x; b < parts; b += gridDim.x) // uniform over the block
    {
        const long long row = b / a.splits;
        const int k0 = (int)(b - row * a.splits) * a.chunk;
        const int k1 = min(a.size, k0 + a.chunk);
        const float* x = a.x + row * a.size;
        float s = 0.0f;
        for (int k = k0 + threadIdx.x; k < k1; k += blockDim.x) s += x[k];
        s = an_block_sum(s, scratch);
        if (threadIdx.x == 0) a.y[b] = a.scale * s;
    }
}

// inner > 1 (e.g. column sums of [rows, n]): one thread per (outer, split, inner) output, walking its chunk of the
// axis in order; neighbouring threads read neighbouring addresses.
extern "C" __global__ void sum_outer(SumArgs a)
{
    AN_GRID_STRIDE(t, (long long)a.outer * a.splits * a.inner)
    {
        const long long i = t % a.inner, q = t / a.inner;
        const long long o = q / a.splits;
        const int k0 = (int)(q - o * a.splits) * a.chunk;
        const int k1 = min(a.size, k0 + a.chunk);
        const float* x = a.x + (o * a.size) * a.inner + i;
        float s = 0.0f;
        for (int k = k0; k < k1; ++k) s += x[(long long)k * a.inner];
        a.y[t] = a.scale * s;
    }
}

// gx[o, k, i] = scale * gy[o, i]   (x = gy, y = gx here)
extern "C" __global__ void sum_backward(SumArgs a)
{
    const long long plane = (long long)a.size * a.inner;
    AN_GRID_STRIDE(t, (long long)a.outer * plane)
    {
        const long long o = t / plane, i = t % a.inner;
        a.y[t] = a.scale * a.x[o * a.inner + i];
    }
}

// ---- softmax over the last dimension ------------------------------------------------------------------------

// Must match SoftmaxArgs in Backends/Cuda/CudaBackend.Softmax.cs.
struct SoftmaxArgs { const float* x; const float* y; const float* gy; float* out; long long rows; int n; };

// One warp per row (attention rows are a few hundred long): max, then exp and their sum, then the scaling.
extern "C" __global__ void softmax_forward(SoftmaxArgs a)
{
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    for (long long row = (long long)blockIdx.x * warps + (threadIdx.x >> 5); row < a.rows; row += (long long)gridDim.x * warps)
    {
        const float* x = a.x + row * a.n;
        float* y = a.out + row * a.n;
        float m = __int_as_float(0xff800000); // -inf (NVRTC has no INFINITY macro)
        for (int i = lane; i < a.n; i += 32) m = fmaxf(m, x[i]);
        m = an_warp_max(m);
        float s = 0.0f;
        for (int i = lane; i < a.n; i += 32)
        {
            const float e = expf(x[i] - m);
            y[i] = e;
            s += e;
        }
        const float inv = 1.0f / an_warp_sum(s);
        for (int i = lane; i < a.n; i += 32) y[i] *= inv; // each lane rescales what it wrote
    }
}

// gx = y * (gy - sum(gy * y)) per row.
extern "C" __global__ void softmax_backward(SoftmaxArgs a)
{
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    for (long long row = (long long)blockIdx.x * warps + (threadIdx.x >> 5); row < a.rows; row += (long long)gridDim.x * warps)
    {
        const float* y = a.y + row * a.n;
        const float* gy = a.gy + row * a.n;
        float* gx = a.out + row * a.n;
        float d = 0.0f;
        for (int i = lane; i < a.n; i += 32) d += gy[i] * y[i];
        d = an_warp_sum(d);
        for (int i = lane; i < a.n; i += 32) gx[i] = y[i] * (gy[i] - d);
    }
}
