// Data movement: axis permutation, and block copies along one axis (concatenation, slicing, the slice backward).
// One thread per output element; every output element is written, so no memset is needed (block_insert_add
// updates a part of an existing tensor in place).
#include "common.cuh"


// Must match PermuteArgs in Backends/Cuda/CudaBackend.Shape.cs: y's dimensions (collapsed where x's order is kept)
// and, for each, the stride of x along it.
struct PermuteArgs { const float* x; float* y; long long n; int rank; int dims[AN_MAX_RANK]; int xs[AN_MAX_RANK]; };

extern "C" __global__ void permute(PermuteArgs a)
{
    AN_GRID_STRIDE(i, a.n)
    {
        int o = (int)i, j = 0;
#pragma unroll
        for (int k = AN_MAX_RANK - 1; k >= 0; --k) // constant indices keep the arrays in the parameter bank
            if (k < a.rank)
            {
                const int c = o % a.dims[k];
                o /= a.dims[k];
                j += c * a.xs[k];
            }
        a.y[i] = a.x[j];
    }
}

// Must match BlockCopyArgs in Backends/Cuda/CudaBackend.Shape.cs. A tensor seen as [outer, size, inner] holds
// `outer` blocks of size*inner contiguous floats; a part of it along the axis is a sub-range of each block.
struct BlockCopyArgs
{
    const float* src;
    float* dst;
    long long n;                  // elements written (dst's size)
    int block;                    // floats per block of the part: part_size * inner
    int whole_block;              // floats per block of the whole: whole_size * inner
    int offset;                   // start of the part within a block of the whole: start * inner
};

// dst = part, src = whole: part[o, r] = whole[o, offset + r] (slice)
extern "C" __global__ void block_extract(BlockCopyArgs a)
{
    AN_GRID_STRIDE(i, a.n)
    {
        const long long o = i / a.block, r = i - o * a.block;
        a.dst[i] = a.src[o * a.whole_block + a.offset + r];
    }
}

// dst = whole, src = part, n = the part's size: whole[o, offset + r] = part[o, r] (one part of a concatenation)
extern "C" __global__ void block_insert(BlockCopyArgs a)
{
    AN_GRID_STRIDE(i, a.n)
    {
        const long long o = i / a.block, r = i - o * a.block;
        a.dst[o * a.whole_block + a.offset + r] = a.src[i];
    }
}

// dst = whole, src = part, n = the part's size: whole[o, offset + r] += part[o, r] (a slice's gradient added to the
// gradient its input already has; the rest of the whole is not touched).
extern "C" __global__ void block_insert_add(BlockCopyArgs a)
{
    AN_GRID_STRIDE(i, a.n)
    {
        const long long o = i / a.block, r = i - o * a.block;
        float* d = a.dst + o * a.whole_block + a.offset + r;
        *d = *d + a.src[i];
    }
}

// dst = whole-shaped gradient, src = the part's gradient, n = the whole's size: zero outside the part.
extern "C" __global__ void block_pad(BlockCopyArgs a)
{
    AN_GRID_STRIDE(i, a.n)
    {
        const long long o = i / a.whole_block, r = i - o * a.whole_block - a.offset;
        a.dst[i] = (r >= 0 && r < a.block) ? a.src[o * a.block + r] : 0.0f;
    }
}
