// Elementwise kernels for the backend surface: unary ops (forward and backward), axpy.
// Memory-bound: one read per input and one write per output; plain expf/logf (no fast math) so results
// match the float64 reference to float32 rounding.
#include "common.cuh"

// Op codes: must match AmbientNative.Backends.Cpu.Reference.UnaryOp.
enum { OP_SILU = 0, OP_SIGMOID = 1, OP_EXP = 2, OP_LOG = 3, OP_SQRT = 4, OP_SQUARE = 5, OP_NEG = 6 };

// Argument blocks: must match the structs in Backends/Cuda/CudaBackend.Unary.cs.
struct UnaryArgs { const float* x; const float* y; const float* gy; float* out; long long n; int op; };
struct AxpyArgs { float* y; const float* x; long long n; float alpha; };

__device__ __forceinline__ float an_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ float unary_f(int op, float x)
{
    switch (op)
    {
    case OP_SILU: return x * an_sigmoid(x);
    case OP_SIGMOID: return an_sigmoid(x);
    case OP_EXP: return expf(x);
    case OP_LOG: return logf(x);
    case OP_SQRT: return sqrtf(x);
    case OP_SQUARE: return x * x;
    default: return -x; // OP_NEG
    }
}

// f'(x), given y = f(x) where that is cheaper (same formulas as UnaryRef.Derivative).
__device__ __forceinline__ float unary_df(int op, float x, float y)
{
    switch (op)
    {
    case OP_SILU: { float s = an_sigmoid(x); return s * (1.0f + x * (1.0f - s)); }
    case OP_SIGMOID: return y * (1.0f - y);
    case OP_EXP: return y;
    case OP_LOG: return 1.0f / x;
    case OP_SQRT: return 1.0f / (y + y);
    case OP_SQUARE: return x + x;
    default: return -1.0f;
    }
}

// out = f(x). The op is uniform across the grid, so the switch does not diverge.
extern "C" __global__ void unary_forward(UnaryArgs a)
{
    AN_GRID_STRIDE(i, a.n) a.out[i] = unary_f(a.op, a.x[i]);
}

// out = gy * f'(x).
extern "C" __global__ void unary_backward(UnaryArgs a)
{
    AN_GRID_STRIDE(i, a.n) a.out[i] = a.gy[i] * unary_df(a.op, a.x[i], a.y[i]);
}

// y += alpha * x (gradient accumulation).
extern "C" __global__ void axpy(AxpyArgs a)
{
    AN_GRID_STRIDE(i, a.n) a.y[i] = fmaf(a.alpha, a.x[i], a.y[i]);
}
