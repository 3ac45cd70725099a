// The contract between the emulated driver (libcuda_emulator.so) and every kernel library it builds and loads.
// Plain C layout only: the two sides are separate shared objects and share nothing else.
#pragma once

struct an_emu_dim3 { unsigned x, y, z; };

// One per kernel library. The driver writes the built-in variables before it resumes a thread, so a kernel reads
// its own threadIdx even though every emulated thread runs on the same OS thread (one at a time).
struct an_emu_runtime
{
    an_emu_dim3 threadIdx, blockIdx, blockDim, gridDim;
    void (*syncthreads)(void);
    // __shfl_xor_sync on the value's bits (widened to 64); the driver checks the mask and that the warp is whole.
    unsigned long long (*shfl_xor)(unsigned mask, unsigned long long bits, int lane_mask, int width);
    // mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 for the whole warp: d = A·B + c, each lane's fragments in
    // PTX's layout (emu_scheduler.cpp); c and d may alias.
    void (*mma_tf32_m16n8k8)(float d[4], const unsigned a[4], const unsigned b[2], const float c[4]);
    // ldmatrix.sync.aligned.m8n8.x4.shared.b16 for the whole warp: each lane's row address (in_shared: whether it lies
    // in the library's __shared__ variables, which only the kernel side can tell) and the four words it receives.
    void (*ldmatrix_x4)(unsigned r[4], const void* row, int in_shared);
};
