// The fused loss of Ambient Tweedie (specification: Backends/Cpu/Reference/TweedieFusedRef.cs): per image i the
// residual r = a_i·d + b_i·xt − xtn, the loss (1/n)·Σ λ_i·‖r‖² and its gradient w.r.t. d. Each pass reads its
// operands once; the loss sums each image in a block tree, and the batch in the last block to finish
// (an_last_block_mean), in a fixed order (no float atomics).
#include "common.cuh"

// Must match TweedieLossArgs in Backends/Cuda/CudaBackend.TweedieFused.cs.
struct TweedieLossArgs
{
    const float* d; const float* xt; const float* xtn;
    const float* coef;      // [n, 3] rows (a, b, λ)
    const float* gloss;
    float* out;             // the loss (forward) or gd (backward)
    float* partial;         // forward: [n] per-image sums
    unsigned* ticket;       // forward: 0 between launches (the last block resets it)
    int n, size;            // images, elements per image
    float scale;
};

__device__ __forceinline__ float tweedie_residual(const TweedieLossArgs& a, long long i, long long k)
{
    return a.coef[3 * i] * a.d[k] + a.coef[3 * i + 1] * a.xt[k] - a.xtn[k];
}

// partial[i] = λ_i·‖r_i‖²: one block (1024 threads) per image; then out[0] = scale·Σᵢ partial[i] in the last block.
extern "C" __global__ void __launch_bounds__(1024) tweedie_loss(TweedieLossArgs a)
{
    __shared__ float scratch[32];
    for (int i = blockIdx.x; i < a.n; i += gridDim.x) // uniform over the block
    {
        const long long base = (long long)i * a.size;
        float s = 0.0f;
        for (int r = threadIdx.x; r < a.size; r += blockDim.x)
        {
            const float e = tweedie_residual(a, i, base + r);
            s += e * e;
        }
        s = an_block_sum(s, scratch);
        if (threadIdx.x == 0) a.partial[i] = a.coef[3 * i + 2] * s;
    }
    an_last_block_mean(a.partial, a.n, a.scale, a.out, a.ticket, scratch);
}

// out = scale·gloss·λ_i·a_i·r, scale = 2/n.
extern "C" __global__ void tweedie_loss_backward(TweedieLossArgs a)
{
    const float g = a.scale * a.gloss[0];
    AN_GRID_STRIDE(t, (long long)a.n * a.size)
    {
        const long long i = t / a.size;
        a.out[t] = g * a.coef[3 * i + 2] * a.coef[3 * i] * tweedie_residual(a, i, t);
    }
}
