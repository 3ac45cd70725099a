using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Per-element optimizer kernels: the AdamW step, the EMA update and scaling, exactly as
/// <see cref="Cpu.Reference.OptimRef"/> with its float constants (derived on the host in float64, rounded once).
/// </summary>
internal sealed class IlgpuOptim
{
    private readonly Action<Index1D, AdamViews, AdamConstants> _adam;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, float, float> _ema;
    private readonly Action<Index1D, ArrayView<float>, float> _scale;

    public IlgpuOptim(IlgpuRuntime runtime)
    {
        var acc = runtime.Accelerator;
        _adam = acc.LoadAutoGroupedStreamKernel<Index1D, AdamViews, AdamConstants>(AdamKernel);
        _ema = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float, float>(EmaKernel);
        _scale = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(ScaleKernel);
    }

    internal readonly record struct AdamViews(ArrayView<float> P, ArrayView<float> G, ArrayView<float> M, ArrayView<float> V);

    internal readonly record struct AdamConstants(float Decay, float StepSize, float Bc2Sqrt, float Eps, float B1, float A1, float B2, float A2)
    {
        public static AdamConstants Of(AdamStepParams h) => new((float)h.Decay, (float)h.StepSize, (float)h.BiasCorrection2Sqrt,
            (float)h.Eps, (float)h.Beta1, (float)(1 - h.Beta1), (float)h.Beta2, (float)(1 - h.Beta2));
    }

    public void AdamStep(AdamViews v, AdamStepParams h) => _adam((int)v.P.Length, v, AdamConstants.Of(h));

    public void EmaUpdate(ArrayView<float> ema, ArrayView<float> p, double beta) => _ema((int)ema.Length, ema, p, (float)beta, (float)(1 - beta));

    public void Scale(ArrayView<float> x, float s) => _scale((int)x.Length, x, s);

    private static void AdamKernel(Index1D i, AdamViews v, AdamConstants c)
    {
        float g = v.G[i];
        float m = c.B1 * v.M[i] + c.A1 * g;
        float s = c.B2 * v.V[i] + c.A2 * g * g;
        v.M[i] = m;
        v.V[i] = s;
        v.P[i] = c.Decay * v.P[i] - c.StepSize * m / (MathF.Sqrt(s) / c.Bc2Sqrt + c.Eps);
    }

    private static void EmaKernel(Index1D i, ArrayView<float> ema, ArrayView<float> p, float b, float a) => ema[i] = b * ema[i] + a * p[i];

    private static void ScaleKernel(Index1D i, ArrayView<float> x, float s) => x[i] = s * x[i];
}
