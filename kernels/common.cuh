// Shared by every kernel in kernels/*.cu. Compiled by NVRTC at run time (no host headers are available),
// so keep this to plain CUDA C++.
#pragma once

// Grid-stride loop: any grid size covers any n, so the host can pick a grid that fills the GPU once.
#define AN_GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)gridDim.x * blockDim.x)

// Largest tensor rank the index-mapping kernels (broadcast, permute) take after the host collapses dimensions.
#define AN_MAX_RANK 8

__device__ __forceinline__ int an_ceil_div(int a, int b) { return (a + b - 1) / b; }

// n / d for 0 <= n < 2^31 and a divisor fixed for the launch: (magic, shift) from FastDivisor.For(d) on the host.
// Three instructions where dividing by a run-time value is ~20 (IABS, I2F, MUFU.RCP, F2I and fix-ups).
__device__ __forceinline__ int an_div(int n, unsigned magic, int shift)
{
    return (int)((__umulhi((unsigned)n, magic) + (unsigned)n) >> shift);
}

// ---- deterministic reductions ---------------------------------------------------------------------------
// Every sum below adds in a fixed order that depends only on the launch shape, never on timing, so a run is
// bit-reproducible (no float atomics anywhere). Butterfly (xor) shuffles leave the same total in every lane:
// lane i adds v_i + v_j while lane j adds v_j + v_i, and float addition is commutative.

__device__ __forceinline__ float an_warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double an_warp_sum(double v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float an_warp_max(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block, returned to every thread. Every thread of the block must call it (it has barriers);
// blockDim.x must be a multiple of 32. scratch: a __shared__ array of 32 elements, reusable by the next call.
template <typename T>
__device__ __forceinline__ T an_block_sum(T v, T* scratch)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = an_warp_sum(v);
    __syncthreads();                  // the previous call's readers are done with scratch
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : T(0);
    return an_warp_sum(v);            // every warp reduces the partials itself: no broadcast step
}

// The batch mean of per-block results in the same launch: every block calls this after its thread 0 has written its
// results to partial[]; the last block to arrive (a ticket from *ticket, which it resets for the next launch) sums
// partial[0, n) in index order with the block tree of an_block_sum and writes scale * sum to *out. The fences order
// each block's partial before its ticket, and the last block's reads after its own; the reads bypass L1 (volatile).
// With blockDim.x threads, the bits are those of a separate one-block launch summing the same partials.
__device__ __forceinline__ void an_last_block_mean(const float* partial, int n, float scale, float* out,
                                                   unsigned* ticket, float* scratch)
{
    __shared__ int last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(ticket, 1u) == gridDim.x - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    const volatile float* p = partial;
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += p[i];
    s = an_block_sum(s, scratch);
    if (threadIdx.x == 0) { *out = scale * s; *ticket = 0u; }
}

// ---- random numbers ----------------------------------------------------------------------------------------

// Philox-4x32-10, word for word Tensors/Rng.Block: block `counter` of stream `key` (dropout, the training noise).
__device__ __forceinline__ uint4 philox(unsigned long long key, unsigned long long counter)
{
    unsigned c0 = (unsigned)counter, c1 = (unsigned)(counter >> 32), c2 = 0u, c3 = 0u;
    unsigned k0 = (unsigned)key, k1 = (unsigned)(key >> 32);
#pragma unroll
    for (int r = 0; r < 10; ++r)
    {
        const unsigned long long p0 = 0xD2511F53ull * c0, p1 = 0xCD9E8D57ull * c2;
        const unsigned n0 = (unsigned)(p1 >> 32) ^ c1 ^ k0, n1 = (unsigned)p1;
        const unsigned n2 = (unsigned)(p0 >> 32) ^ c3 ^ k1, n3 = (unsigned)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    return make_uint4(c0, c1, c2, c3);
}

// Makes x opaque to the compiler, so that a loop keeps it in a register: under register pressure the compiler
// recomputes cheap per-thread values (addresses from threadIdx) in every iteration instead. The emulator's is a no-op.
#ifndef AN_EMULATOR
__device__ __forceinline__ void an_keep(int& x) { asm volatile("" : "+r"(x)); }
#endif

// ---- TF32 tensor cores (sm_80 and later) ------------------------------------------------------------------
// The CUDA emulator (tools/cuda-emulator) defines AN_EMULATOR and models the three helpers from the PTX ISA's
// definitions; on a GPU they are the instructions themselves.
#ifndef AN_EMULATOR
// cvt.rna.tf32.f32: round to 10 mantissa bits, to nearest, ties away from zero. The result is a float whose low
// 13 bits are zero, so the tensor core, which reads only the top 19, sees exactly this value.
// Below sm_80 neither instruction exists; the helpers trap there so that a file holding TF32 kernels still compiles
// for older GPUs (the host never launches them on one: CudaBackend.ConvTf32 refuses).
__device__ __forceinline__ float an_cvt_tf32(float x)
{
#if __CUDA_ARCH__ >= 800
    unsigned u;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(u) : "f"(x));
    return __uint_as_float(u);
#else
    __trap();
    return x;
#endif
}

// d += A·B for one warp, m16n8k8, fp32 accumulation. Fragments (g = lane / 4, t = lane % 4):
// a = {A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]}, b = {B[t][g], B[t+4][g]},
// d = {D[g][2t], D[g][2t+1], D[g+8][2t], D[g+8][2t+1]}. Every lane of the warp must call it together.
__device__ __forceinline__ void an_mma_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2])
{
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();
#endif
}

// ldmatrix.sync.aligned.m8n8.x4.shared.b16 read as 32-bit words: four 8x8 b16 matrices, each 8 rows of 16 bytes
// (4 words). Lane l gives the shared address of row l % 8 of matrix l / 8; r[j] receives word l % 4 of row l / 4 of
// matrix j. For a row-major tile of TF32 words that is the mma fragment layout above: matrices (rows 0-7, words
// 0-3), (8-15, 0-3), (0-7, 4-7), (8-15, 4-7) of a 16x8 A tile give a[0..3], and rows n of a [n][k] B tile give b.
// One instruction per four fragment registers where plain loads take four. Every lane of the warp must call it together.
__device__ __forceinline__ void an_ldmatrix_x4(unsigned (&r)[4], const float* row)
{
#if __CUDA_ARCH__ >= 800
    const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
#else
    __trap();
#endif
}
#endif
