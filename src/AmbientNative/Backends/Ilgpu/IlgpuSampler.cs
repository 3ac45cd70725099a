using AmbientNative.Backends.Cpu.Reference;
using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// The Heun sampler's pointwise update in one pass (<see cref="SamplerRef"/>): Euler y = x̂ + c₁·(x̂ − D₁), or the
/// Heun correction y = x̂ + c₁·(x̂ − D₁) + c₂·(x_E − D₂). One read of each operand, one write.
/// </summary>
internal sealed class IlgpuSampler
{
    private readonly Action<Index1D, StepViews, float, float, int> _step;

    public IlgpuSampler(IlgpuRuntime runtime) =>
        _step = runtime.Accelerator.LoadAutoGroupedStreamKernel<Index1D, StepViews, float, float, int>(StepKernel);

    internal readonly record struct StepViews(ArrayView<float> XHat, ArrayView<float> D1, ArrayView<float> XEuler,
        ArrayView<float> D2, ArrayView<float> Y);

    /// <param name="heun">False: Euler (XEuler and D2 are not read and may be any views).</param>
    public void Step(StepViews v, bool heun, double sigmaHat, double sigmaNext)
    {
        var (c1, c2) = SamplerRef.Coefficients(sigmaHat, sigmaNext, heun);
        if (v.Y.Length > 0) _step((int)v.Y.Length, v, (float)c1, (float)c2, heun ? 1 : 0); // CUDA rejects a grid of 0 blocks
    }

    private static void StepKernel(Index1D i, StepViews v, float c1, float c2, int heun)
    {
        float x = v.XHat[i];
        float y = x + c1 * (x - v.D1[i]);
        if (heun != 0) y += c2 * (v.XEuler[i] - v.D2[i]);
        v.Y[i] = y;
    }
}
