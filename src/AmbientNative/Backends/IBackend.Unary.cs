using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    void Unary(UnaryOp op, Tensor x, Tensor y);
    void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx);
}
