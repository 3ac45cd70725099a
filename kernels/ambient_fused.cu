// The fused elementwise passes of an Ambient Diffusion training step (specification:
// Backends/Cpu/Reference/AmbientFusedRef.cs): the network input (noise, masking, c_in, concatenation with the
// mask) and the loss with its gradient. Each reads its operands once and writes its outputs once. The loss sums
// each image in a block tree and the batch in the last block to finish, both in a fixed order (no float atomics;
// one integer ticket tells the last block).
#include "common.cuh"

// Must match AmbientInputArgs in Backends/Cuda/CudaBackend.AmbientFused.cs.
struct AmbientInputArgs
{
    const float* y; const float* noise; const float* sigma; const float* mask;
    float* masked; float* input;
    int n, c, cm, ck, hw;   // images, image channels, mask channels (1 or c), mask channels in the input, pixels
    float sd2;              // σd²
};

// One thread per element of input [n, c + ck, hw]; image channels also write masked [n, c, hw].
extern "C" __global__ void ambient_input(AmbientInputArgs a)
{
    const long long plane = (long long)(a.c + a.ck) * a.hw;
    AN_GRID_STRIDE(t, (long long)a.n * plane)
    {
        const long long i = t / plane;
        const long long r = t - i * plane;
        const int ch = (int)(r / a.hw), p = (int)(r - (long long)ch * a.hw);
        const float* mask = a.mask + i * a.cm * a.hw;
        if (ch < a.c)
        {
            const long long k = i * a.c * a.hw + r;
            const float s = a.sigma[i];
            const float v = mask[(a.cm == 1 ? 0 : ch) * a.hw + p] * (a.y[k] + s * a.noise[k]);
            a.masked[k] = v;
            a.input[t] = (1.0f / sqrtf(s * s + a.sd2)) * v;
        }
        else
            a.input[t] = mask[(ch - a.c) * a.hw + p];
    }
}

// Must match AmbientLossArgs in Backends/Cuda/CudaBackend.AmbientFused.cs.
struct AmbientLossArgs
{
    const float* d; const float* y; const float* mask; const float* weight; const float* gloss;
    float* out;             // the loss (forward) or gd (backward)
    float* partial;         // forward: [n] per-image sums
    unsigned* ticket;       // forward: 0 between launches (the last block resets it)
    int n, c, cm, hw;
    float scale;
};

__device__ __forceinline__ float ambient_mask(const AmbientLossArgs& a, long long i, long long r)
{
    return a.mask[i * a.cm * a.hw + (a.cm == 1 ? r % a.hw : r)];
}

// partial[i] = weight[i]·Σ mask⊙(d − y)² over image i: one block (1024 threads, so a batch of a few hundred images
// fills the GPU in one wave) per image; then out[0] = scale·Σᵢ partial[i] (scale = 1/n) in the last block.
extern "C" __global__ void __launch_bounds__(1024) ambient_loss(AmbientLossArgs a)
{
    __shared__ float scratch[32];
    const long long size = (long long)a.c * a.hw;
    for (int i = blockIdx.x; i < a.n; i += gridDim.x) // uniform over the block
    {
        const float* d = a.d + i * size;
        const float* y = a.y + i * size;
        float s = 0.0f;
        for (long long r = threadIdx.x; r < size; r += blockDim.x)
        {
            const float e = d[r] - y[r];
            s += ambient_mask(a, i, r) * e * e;
        }
        s = an_block_sum(s, scratch);
        if (threadIdx.x == 0) a.partial[i] = a.weight[i] * s;
    }
    an_last_block_mean(a.partial, a.n, a.scale, a.out, a.ticket, scratch);
}

// out = scale·gloss·weight[i]·mask⊙(d − y), scale = 2/n.
extern "C" __global__ void ambient_loss_backward(AmbientLossArgs a)
{
    const long long size = (long long)a.c * a.hw;
    const float g = a.scale * a.gloss[0];
    AN_GRID_STRIDE(t, (long long)a.n * size)
    {
        const long long i = t / size;
        a.out[t] = g * a.weight[i] * ambient_mask(a, i, t - i * size) * (a.d[t] - a.y[t]);
    }
}
