// Force-included (clang -include) before a kernels/*.cu file when the emulator compiles it as host C++: CUDA's
// built-ins for code that runs on the CPU, one emulated thread at a time (tests/.../Gpu/ClangCuda.cs declares the
// device-side twins for clang's CUDA front end).
#pragma once
#define AN_EMULATOR 1 // kernels use it to swap inline PTX for the models below
#include <math.h>
#include <string.h>
#include "emu_runtime.h"

extern "C" an_emu_runtime an_emu_rt; // defined in the generated entry file of this kernel library

// Kernel names and launch bounds are found by preprocessing with AN_EMU_SCAN defined (markers stay in the text).
#ifdef AN_EMU_SCAN
#define __global__ an_emu_kernel_marker
#define __launch_bounds__(...) an_emu_bounds_marker(__VA_ARGS__)
#else
#define __global__
#define __launch_bounds__(...)
#endif
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __align__(n) __attribute__((aligned(n)))
// Every __shared__ variable lands in one section, which the driver fills with 0xff bytes (NaN as float or double,
// -1 as an integer) before each block: a kernel that reads shared memory it did not write reads poison.
#define __shared__ static __attribute__((section("an_emu_shared")))

typedef an_emu_dim3 uint3;
typedef an_emu_dim3 dim3;
#define threadIdx (an_emu_rt.threadIdx)
#define blockIdx (an_emu_rt.blockIdx)
#define blockDim (an_emu_rt.blockDim)
#define gridDim (an_emu_rt.gridDim)

inline void __syncthreads() { an_emu_rt.syncthreads(); }

inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }

template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32)
{
    static_assert(sizeof(T) <= 8, "shuffles move at most 64 bits");
    unsigned long long bits = 0;
    memcpy(&bits, &v, sizeof(T));
    bits = an_emu_rt.shfl_xor(mask, bits, lane_mask, width);
    memcpy(&v, &bits, sizeof(T));
    return v;
}

// cvt.rna.tf32.f32: to the nearest value with 10 mantissa bits, ties away from zero (low 13 bits cleared).
inline float an_cvt_tf32(float x)
{
    unsigned u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
    memcpy(&x, &u, 4);
    return x;
}

inline void an_mma_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) { an_emu_rt.mma_tf32_m16n8k8(d, a, b, d); }

inline void an_keep(int&) {}

// The section the __shared__ variables share (the generated entry file declares the same symbols).
extern "C" char __start_an_emu_shared[] __attribute__((weak)), __stop_an_emu_shared[] __attribute__((weak));
inline void an_ldmatrix_x4(unsigned (&r)[4], const float* row)
{
    const char* p = reinterpret_cast<const char*>(row);
    an_emu_rt.ldmatrix_x4(r, row, __start_an_emu_shared != nullptr && p >= __start_an_emu_shared && p < __stop_an_emu_shared);
}

// Only the built-ins kernels/*.cu use: a kernel that needs another fails to compile here with clang's message, and
// its host model is added then (atomics are plain read-modify-writes: emulated threads never run at once).
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(16))) uint4 { unsigned x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }

inline float __fadd_rn(float a, float b) { return a + b; } // kernels are built with -ffp-contract=off
inline unsigned atomicAdd(unsigned* p, unsigned v) { const unsigned old = *p; *p = old + v; return old; }
inline void __threadfence() {} // one host thread runs every emulated thread: memory is always coherent
inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
