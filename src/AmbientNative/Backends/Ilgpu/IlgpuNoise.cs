using AmbientNative.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Standard normal noise drawn where the tensor lives (the formula of NormalRef): one thread per pair of elements
/// runs one Philox-4x32-10 block (seed, counter + pair) and two Box–Muller transforms (in float32). On a GPU it is the ILGPU
/// twin of kernels/noise.cu (at batch 256, 3×32×32, ~0.8 M normals a step).
/// </summary>
internal sealed class IlgpuNoise
{
    private readonly Action<Index1D, ArrayView<float>, ulong, ulong> _fill;

    public IlgpuNoise(IlgpuRuntime runtime) =>
        _fill = runtime.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ulong, ulong>(FillKernel);

    public void Fill(ArrayView<float> y, ulong seed, ulong counter)
    {
        long pairs = (y.Length + 1) / 2;
        if (pairs > 0) _fill((int)pairs, y, seed, counter);
    }

    private static void FillKernel(Index1D pair, ArrayView<float> y, ulong seed, ulong counter)
    {
        int p = pair;
        ulong block = counter + (ulong)p;
        // Rng.Block's ten rounds written out: a kernel cannot call it (it writes a Span, which ILGPU does not compile).
        uint c0 = (uint)block, c1 = (uint)(block >> 32), c2 = 0, c3 = 0, k0 = (uint)seed, k1 = (uint)(seed >> 32);
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = (ulong)Rng.M0 * c0, p1 = (ulong)Rng.M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0, n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c0 = n0; c1 = (uint)p1; c2 = n2; c3 = (uint)p0;
            k0 += Rng.W0; k1 += Rng.W1;
        }
        long i = 2L * p;
        y[i] = Sample(c0, c1);
        if (i + 1 < y.Length) y[i + 1] = Sample(c2, c3);
    }

    // In float32: on CUDA, ILGPU (with ILGPU.Algorithms, see IlgpuRuntime.ConfigureCuda) computes MathF.Log through
    // PTX's approximate lg2 and MathF.Cos through its approximate cos, and has no double versions without NVVM's
    // libdevice, so the values are close to NormalRef's float64 Box–Muller, not bit-identical (on ILGPU's CPU
    // accelerator within 1e-5; on the GPU ~1e-6 absolute more, unmeasured). u1, u2 are exact in float. For u1 just
    // below 1 the true log is ~−6e-8 and lg2.approx's ~2^-22 absolute error could make −2·log(u1) slightly negative:
    // the clamp keeps √ from returning NaN there (on the CPU it only turns −0 into +0).
    private static float Sample(uint w1, uint w2)
    {
        float u1 = ((w1 >> 8) + 1) * (1f / 16777216f), u2 = ((w2 >> 8) + 1) * (1f / 16777216f);
        return MathF.Sqrt(MathF.Max(0f, -2f * MathF.Log(u1))) * MathF.Cos(2f * MathF.PI * u2);
    }
}
