// Elementwise kernels for the backend surface: unary ops (forward and backward), axpy, broadcasting binary ops
// (forward, and backward as a fixed-order reduction per input element), scalar-parameter ops (affine, clamp,
// pow) and dropout. Memory-bound: one read per input and one write per output; plain expf/logf/powf (no fast
// math) so results match the float64 reference to float32 rounding.
#include "common.cuh"

// Residual junction y = (a + b)*scale and its backward ga = gb = scale*gy (either gradient may be null): one pass
// each way where the composition add, then scale, takes two. Must match AddScaledArgs in CudaBackend.Binary.cs.
struct AddScaledArgs { const float* a; const float* b; const float* gy; float* y; float* ga; float* gb; long long n; float scale; };

extern "C" __global__ void add_scaled(AddScaledArgs p)
{
    AN_GRID_STRIDE(i, p.n) p.y[i] = (p.a[i] + p.b[i]) * p.scale;
}

extern "C" __global__ void add_scaled_backward(AddScaledArgs p)
{
    AN_GRID_STRIDE(i, p.n)
    {
        const float g = p.scale * p.gy[i];
        if (p.ga != nullptr) p.ga[i] = g;
        if (p.gb != nullptr) p.gb[i] = g;
    }
}

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

// ---- binary ops with broadcasting ---------------------------------------------------------------------------

// Op codes: must match AmbientNative.Backends.Cpu.Reference.BinaryOp.
enum { BIN_ADD = 0, BIN_SUB = 1, BIN_MUL = 2, BIN_DIV = 3 };

// Must match BinaryArgs in Backends/Cuda/CudaBackend.Binary.cs. The host collapses the output shape first
// (drops size-1 dimensions, merges neighbours that both operands traverse alike), so rank is small: 1 when the
// shapes are equal, 2 for [N,C,H,W] + [N,C,1,1]. Loops over dimensions are unrolled to AN_MAX_RANK so the arrays
// are indexed by constants and stay in the parameter bank (a variable index would copy them to local memory).
struct BinaryArgs
{
    const float* a;
    const float* b;
    const float* gy;
    float* out;            // y (forward) or the gradient of operand `wrt` (backward)
    long long n;           // elements of out
    long long fan;         // backward: output elements that read each element of out (1 = same shape)
    int op, rank, wrt;     // wrt: 0 = gradient of a, 1 = of b
    int one_red;           // backward: 1 when operand wrt is broadcast along exactly one dimension, whose strides
    int red_so, red_sy;    //   in the output and in the other operand these are
    int dims[AN_MAX_RANK]; // output dimensions
    int so[AN_MAX_RANK];   // output strides
    int sa[AN_MAX_RANK];   // strides of a along the output dimensions, 0 where a is broadcast
    int sb[AN_MAX_RANK];
};

__device__ __forceinline__ float binary_f(int op, float a, float b)
{
    switch (op)
    {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    default: return a / b;
    }
}

// d(a op b)/da and d(a op b)/db: same formulas as BinaryRef.DA / DB.
__device__ __forceinline__ float binary_da(int op, float a, float b)
{
    switch (op)
    {
    case BIN_ADD: case BIN_SUB: return 1.0f;
    case BIN_MUL: return b;
    default: return 1.0f / b;
    }
}

__device__ __forceinline__ float binary_db(int op, float a, float b)
{
    switch (op)
    {
    case BIN_ADD: return 1.0f;
    case BIN_SUB: return -1.0f;
    case BIN_MUL: return a;
    default: return -a / (b * b);
    }
}

// Offset read by output element o through the strides of operand `which` (0 = a, 1 = b): the forward gather.
// Equal shapes (rank 1) need no division.
__device__ __forceinline__ int gather(const BinaryArgs& p, int which, int o)
{
    if (p.rank == 1) return o * (which == 0 ? p.sa[0] : p.sb[0]);
    int j = 0;
#pragma unroll
    for (int k = AN_MAX_RANK - 1; k >= 0; --k)
        if (k < p.rank)
        {
            const int c = o % p.dims[k];
            o /= p.dims[k];
            j += c * (which == 0 ? p.sa[k] : p.sb[k]);
        }
    return j;
}

extern "C" __global__ void binary_forward(BinaryArgs p)
{
    AN_GRID_STRIDE(i, p.n) p.out[i] = binary_f(p.op, p.a[gather(p, 0, (int)i)], p.b[gather(p, 1, (int)i)]);
}

// Backward of operand X (a when p.wrt == 0, else b); Y is the other operand. Element j of X is read by `fan`
// output elements: its own coordinates on the dimensions X keeps, any coordinates on those X is broadcast along.
// grad_base places j and grad_step the r-th of those outputs, each as (output offset, offset in Y).
__device__ __forceinline__ int sx_of(const BinaryArgs& p, int k) { return p.wrt == 0 ? p.sa[k] : p.sb[k]; }
__device__ __forceinline__ int sy_of(const BinaryArgs& p, int k) { return p.wrt == 0 ? p.sb[k] : p.sa[k]; }

__device__ __forceinline__ void grad_base(const BinaryArgs& p, int j, int& o, int& y)
{
    if (p.fan == 1) { o = j; y = gather(p, 1 - p.wrt, j); return; } // X has the output's shape
    o = 0; y = 0;
#pragma unroll
    for (int k = 0; k < AN_MAX_RANK; ++k)
        if (k < p.rank && sx_of(p, k) != 0)
        {
            const int c = (j / sx_of(p, k)) % p.dims[k];
            o += c * p.so[k];
            y += c * sy_of(p, k);
        }
}

__device__ __forceinline__ void grad_step(const BinaryArgs& p, int r, int& o, int& y)
{
    if (p.one_red) { o = r * p.red_so; y = r * p.red_sy; return; }
    o = 0; y = 0;
#pragma unroll
    for (int k = AN_MAX_RANK - 1; k >= 0; --k)
        if (k < p.rank && sx_of(p, k) == 0)
        {
            const int c = r % p.dims[k];
            r /= p.dims[k];
            o += c * p.so[k];
            y += c * sy_of(p, k);
        }
}

// gy[o] * d(a op b)/dX, for X's element value xv and Y's element at offset y.
__device__ __forceinline__ float grad_term(const BinaryArgs& p, float xv, int o, int y)
{
    const float d = p.wrt == 0 ? binary_da(p.op, xv, p.b[y]) : binary_db(p.op, p.a[y], xv);
    return p.gy[o] * d;
}

// One thread per element of X, summing its fan outputs in order: for equal shapes (fan 1) and small fans.
extern "C" __global__ void binary_grad_thread(BinaryArgs p)
{
    const float* x = p.wrt == 0 ? p.a : p.b;
    AN_GRID_STRIDE(i, p.n)
    {
        const int j = (int)i;
        int o0, y0;
        grad_base(p, j, o0, y0);
        const float xv = x[j];
        float s = 0.0f;
        for (int r = 0; r < (int)p.fan; ++r)
        {
            int o, y;
            grad_step(p, r, o, y);
            s += grad_term(p, xv, o0 + o, y0 + y);
        }
        p.out[j] = s;
    }
}

// One block per element of X for large fans (per-sample or per-channel operands): the threads stride over the
// fan (consecutive threads on consecutive outputs when the broadcast dimension is innermost) and their partial
// sums meet in a fixed tree.
extern "C" __global__ void __launch_bounds__(256) binary_grad_block(BinaryArgs p)
{
    __shared__ float scratch[32];
    const float* x = p.wrt == 0 ? p.a : p.b;
    for (long long jj = blockIdx.x; jj < p.n; jj += gridDim.x) // uniform over the block: the barriers are safe
    {
        const int j = (int)jj;
        int o0, y0;
        grad_base(p, j, o0, y0);
        const float xv = x[j];
        float s = 0.0f;
        for (int r = threadIdx.x; r < (int)p.fan; r += blockDim.x)
        {
            int o, y;
            grad_step(p, r, o, y);
            s += grad_term(p, xv, o0 + o, y0 + y);
        }
        s = an_block_sum(s, scratch);
        if (threadIdx.x == 0) p.out[j] = s;
    }
}

// ---- ops with scalar parameters -----------------------------------------------------------------------------

enum { SC_AFFINE = 0, SC_CLAMP = 1, SC_POW = 2 };

// Must match ScalarArgs in Backends/Cuda/CudaBackend.Scalar.cs.
struct ScalarArgs { const float* x; const float* gy; float* out; long long n; int op; float p0, p1; };

// affine: p0*x + p1; clamp: to [p0, p1] (NaN stays NaN, as Math.Min/Max); pow: x^p0.
extern "C" __global__ void scalar_forward(ScalarArgs a)
{
    AN_GRID_STRIDE(i, a.n)
    {
        const float x = a.x[i];
        float y;
        if (a.op == SC_AFFINE) y = a.p0 * x + a.p1;
        else if (a.op == SC_CLAMP) y = x != x ? x : fminf(fmaxf(x, a.p0), a.p1);
        else y = powf(x, a.p0);
        a.out[i] = y;
    }
}

// clamp: gy where p0 < x < p1, else 0; pow: gy * p0 * x^(p0 - 1). (Affine's backward is affine.)
extern "C" __global__ void scalar_backward(ScalarArgs a)
{
    AN_GRID_STRIDE(i, a.n)
    {
        const float x = a.x[i], g = a.gy[i];
        a.out[i] = a.op == SC_CLAMP ? (a.p0 < x && x < a.p1 ? g : 0.0f) : g * a.p0 * powf(x, a.p0 - 1.0f);
    }
}

// ---- dropout --------------------------------------------------------------------------------------------------

// Must match DropoutArgs in Backends/Cuda/CudaBackend.Dropout.cs.
struct DropoutArgs { const float* x; float* y; long long n; unsigned long long seed, counter; unsigned threshold; float scale; };

// The mask of DropoutRef exactly: element i is kept when (word i%4 of block counter + i/4) >> 8 < threshold.
// One thread per Philox block, i.e. per four elements.
extern "C" __global__ void dropout(DropoutArgs a)
{
    AN_GRID_STRIDE(q, (a.n + 3) / 4)
    {
        const uint4 w = philox(a.seed, a.counter + (unsigned long long)q);
        const unsigned words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int t = 0; t < 4; ++t)
        {
            const long long i = 4 * q + t;
            if (i < a.n) a.y[i] = (words[t] >> 8) < a.threshold ? a.x[i] * a.scale : 0.0f;
        }
    }
}
