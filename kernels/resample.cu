// Factor-2 resampling of image planes (x is [planes, h, w], planes = N*C): nearest-neighbour upsampling and 2x2
// average pooling (odd sizes round down, as PyTorch), forward and backward. Every kernel gathers, one thread per
// output element, so no output is written twice and no atomics are needed; sums run in ResampleRef's order.
#include "common.cuh"

// Must match ResampleArgs in Backends/Cuda/CudaBackend.Resample.cs. h, w: the full-resolution side (the input of
// pooling, the output of upsampling's backward); n: elements written.
struct ResampleArgs { const float* x; float* y; long long n; int h, w; };

// y [planes, 2h, 2w] from x [planes, h, w]
extern "C" __global__ void upsample2x(ResampleArgs a)
{
    const int ow = 2 * a.w, ohw = 4 * a.h * a.w;
    AN_GRID_STRIDE(i, a.n)
    {
        const long long p = i / ohw;
        const int r = (int)(i - p * ohw), oy = r / ow, ox = r - oy * ow;
        a.y[i] = a.x[(p * a.h + oy / 2) * a.w + ox / 2];
    }
}

// gx [planes, h, w] (y) from gy [planes, 2h, 2w] (x): the sum over each 2x2 block.
extern "C" __global__ void upsample2x_backward(ResampleArgs a)
{
    const int hw = a.h * a.w, ow = 2 * a.w;
    AN_GRID_STRIDE(i, a.n)
    {
        const long long p = i / hw;
        const int r = (int)(i - p * hw), iy = r / a.w, ix = r - iy * a.w;
        const float* g = a.x + (p * 2 * a.h + 2 * iy) * ow + 2 * ix;
        a.y[i] = ((g[0] + g[1]) + g[ow]) + g[ow + 1];
    }
}

// y [planes, h/2, w/2] from x [planes, h, w]
extern "C" __global__ void avgpool2x(ResampleArgs a)
{
    const int oh = a.h / 2, ow = a.w / 2, ohw = oh * ow;
    AN_GRID_STRIDE(i, a.n)
    {
        const long long p = i / ohw;
        const int r = (int)(i - p * ohw), oy = r / ow, ox = r - oy * ow;
        const float* x = a.x + (p * a.h + 2 * oy) * a.w + 2 * ox;
        a.y[i] = 0.25f * (((x[0] + x[1]) + x[a.w]) + x[a.w + 1]);
    }
}

// gx [planes, h, w] (y) from gy [planes, h/2, w/2] (x): gy/4 over each pooled block, 0 on a dropped odd edge.
extern "C" __global__ void avgpool2x_backward(ResampleArgs a)
{
    const int oh = a.h / 2, ow = a.w / 2, hw = a.h * a.w;
    AN_GRID_STRIDE(i, a.n)
    {
        const long long p = i / hw;
        const int r = (int)(i - p * hw), iy = r / a.w, ix = r - iy * a.w, oy = iy / 2, ox = ix / 2;
        a.y[i] = (oy < oh && ox < ow) ? 0.25f * a.x[(p * oh + oy) * ow + ox] : 0.0f;
    }
}
