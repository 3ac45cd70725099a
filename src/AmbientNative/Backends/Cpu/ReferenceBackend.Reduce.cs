using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Sum(Tensor x, Tensor y, AxisGeometry g, float scale) => ReduceRef.Sum<float>(R(x), S(y), g, scale);

    public virtual void SumBackward(Tensor gy, Tensor gx, AxisGeometry g, float scale) =>
        ReduceRef.SumBackward<float>(R(gy), S(gx), g, scale);
}
