// The training noise on the device: NormalRef's pure function of (seed, counter, element). Element i is Box–Muller,
// in double, of words 2(i mod 2) and 2(i mod 2) + 1 of Philox block counter + i/2, each word's top 24 bits as
// u in (0, 1], rounded to float at the end: the host's formula operation for operation. CUDA's double log and cos
// are within 1 ulp rather than correctly rounded, so a value can differ from the host's in its last float bit when
// the double lands within an ulp of a float rounding boundary (about one element in 2^28).
#include "common.cuh"

// Must match NoiseArgs in Backends/Cuda/CudaBackend.Noise.cs.
struct NoiseArgs { float* y; long long n; unsigned long long seed, counter; };

__device__ __forceinline__ float box_muller(unsigned w1, unsigned w2)
{
    const double u1 = ((w1 >> 8) + 1.0) / 16777216.0, u2 = ((w2 >> 8) + 1.0) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * 3.141592653589793 * u2));
}

// One thread per Philox block half, i.e. per two elements.
extern "C" __global__ void normal_fill(NoiseArgs a)
{
    AN_GRID_STRIDE(q, (a.n + 1) / 2)
    {
        const uint4 w = philox(a.seed, a.counter + (unsigned long long)q);
        const long long i = 2 * q;
        a.y[i] = box_muller(w.x, w.y);
        if (i + 1 < a.n) a.y[i + 1] = box_muller(w.z, w.w);
    }
}
