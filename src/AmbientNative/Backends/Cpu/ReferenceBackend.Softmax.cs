using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Softmax(Tensor x, Tensor y) => SoftmaxRef.Forward<float>(R(x), S(y), x.Shape[-1]);

    public virtual void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx) =>
        SoftmaxRef.Backward<float>(R(y), R(gy), S(gx), y.Shape[-1]);
}
