using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void SamplerStep(Tensor xHat, Tensor d1, Tensor? xEuler, Tensor? d2, Tensor y, double sigmaHat, double sigmaNext) =>
        SamplerRef.Step<float>(R(xHat), R(d1), ROpt(xEuler), ROpt(d2), S(y), sigmaHat, sigmaNext);
}
