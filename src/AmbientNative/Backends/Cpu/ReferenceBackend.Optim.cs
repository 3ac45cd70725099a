using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void AdamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStepParams h) =>
        OptimRef.AdamStep<float>(S(p), R(g), S(m), S(v), h);

    public virtual double SumOfSquares(Tensor x) => OptimRef.SumOfSquares<float>(R(x));

    public virtual void ScaleInPlace(Tensor x, float s) => OptimRef.ScaleInPlace(S(x), s);

    public virtual void EmaUpdate(Tensor ema, Tensor p, double beta) => OptimRef.EmaUpdate<float>(S(ema), R(p), beta);

    public virtual bool AllFinite(Tensor x) => OptimRef.AllFinite<float>(R(x));
}
