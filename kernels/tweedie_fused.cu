// The fused loss of Ambient Tweedie (specification: Backends/Cpu/Reference/TweedieFusedRef.cs): per image i the
// residual r = a_i·d + b_i·xt − xtn, the loss (1/n)·Σ λ_i·‖r‖² and its gradient w.r.t. d. Each pass reads its
// operands once; the loss sums each image in a block tree here, and the batch in one block with ambient_fused.cu's
// ambient_loss_mean (the same "scale·Σ of n per-image sums"), in a fixed order (no atomics).
#include "common.cuh"

// Must match TweedieLossArgs in Backends/Cuda/CudaBackend.TweedieFused.cs.
struct TweedieLossArgs
{
    const float* d; const float* xt; const float* xtn;
    const float* coef;      // [n, 3] rows (a, b, λ)
    const float* gloss;
    float* out;
    int n, size;            // images, elements per image
    float scale;
};

__device__ __forceinline__ float tweedie_residual(const TweedieLossArgs& a, long long i, long long k)
{
    return a.coef[3 * i] * a.d[k] + a.coef[3 * i + 1] * a.xt[k] - a.xtn[k];
}

// out[i] = λ_i·‖r_i‖²: one block (1024 threads) per image.
extern "C" __global__ void __launch_bounds__(1024) tweedie_loss_images(TweedieLossArgs a)
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
        if (threadIdx.x == 0) a.out[i] = a.coef[3 * i + 2] * s;
    }
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
