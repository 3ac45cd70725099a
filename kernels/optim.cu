// Optimizer arithmetic on parameter-shaped tensors (OptimRef's formulas): the AdamW step, scaling, the EMA update,
// and the two reductions the trainer reads on the host (sum of squares in double, the all-finite check).
#include "common.cuh"

// Must match AdamArgs in Backends/Cuda/CudaBackend.Optim.cs. The per-step scalars are rounded to float on the
// host, as OptimRef rounds them, so each element follows the reference's arithmetic.
struct AdamArgs { float* p; const float* g; float* m; float* v; long long n; float decay, step_size, bc2_sqrt, eps, b1, a1, b2, a2; };

extern "C" __global__ void adam_step(AdamArgs a)
{
    AN_GRID_STRIDE(i, a.n)
    {
        const float g = a.g[i];
        const float m = a.b1 * a.m[i] + a.a1 * g;
        const float v = a.b2 * a.v[i] + a.a2 * g * g;
        a.m[i] = m;
        a.v[i] = v;
        a.p[i] = a.decay * a.p[i] - a.step_size * m / (sqrtf(v) / a.bc2_sqrt + a.eps);
    }
}

// Must match OptimArgs in Backends/Cuda/CudaBackend.Optim.cs.
struct OptimArgs { float* x; const float* p; void* out; long long n; float s0, s1; };

// x = s0 * x
extern "C" __global__ void scale_in_place(OptimArgs a)
{
    AN_GRID_STRIDE(i, a.n) a.x[i] = a.s0 * a.x[i];
}

// ema (x) = s0 * ema + s1 * p, with s0 = beta and s1 = 1 - beta rounded from double on the host.
extern "C" __global__ void ema_update(OptimArgs a)
{
    AN_GRID_STRIDE(i, a.n) a.x[i] = a.s0 * a.x[i] + a.s1 * a.p[i];
}

// out (double[gridDim.x]) = per-block sums of x^2 in double; the host adds the blocks' partials in order.
extern "C" __global__ void __launch_bounds__(256) sum_of_squares(OptimArgs a)
{
    __shared__ double scratch[32];
    double s = 0.0;
    AN_GRID_STRIDE(i, a.n) { const double v = a.x[i]; s += v * v; }
    s = an_block_sum(s, scratch);
    if (threadIdx.x == 0) static_cast<double*>(a.out)[blockIdx.x] = s;
}

// out (one int, zeroed by the host) = 1 if any element is NaN or infinite. Every writer stores the same value, so
// the unordered stores are harmless.
extern "C" __global__ void any_non_finite(OptimArgs a)
{
    bool bad = false;
    AN_GRID_STRIDE(i, a.n) bad |= (__float_as_uint(a.x[i]) & 0x7f800000u) == 0x7f800000u; // exponent all ones: inf or NaN
    if (bad) *static_cast<int*>(a.out) = 1;
}
