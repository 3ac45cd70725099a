using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Unary(UnaryOp op, Tensor x, Tensor y) => UnaryRef.Forward<float>(op, R(x), S(y));

    public virtual void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx) =>
        UnaryRef.Backward<float>(op, R(x), R(y), R(gy), S(gx));
}
