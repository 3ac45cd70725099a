// Shared by every kernel in kernels/*.cu. Compiled by NVRTC at run time (no host headers are available),
// so keep this to plain CUDA C++.
#pragma once

// Grid-stride loop: any grid size covers any n, so the host can pick a grid that fills the GPU once.
#define AN_GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)gridDim.x * blockDim.x)

__device__ __forceinline__ int an_ceil_div(int a, int b) { return (a + b - 1) / b; }
