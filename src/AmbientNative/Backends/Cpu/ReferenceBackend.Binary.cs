using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) =>
        BinaryRef.Forward<float>(op, R(a), a.Shape, R(b), b.Shape, S(y), y.Shape);

    public virtual void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb) =>
        BinaryRef.Backward<float>(op, R(a), a.Shape, R(b), b.Shape, R(gy), gy.Shape, SOpt(ga), SOpt(gb));

    public virtual void AddScaled(Tensor a, Tensor b, float scale, Tensor y) => BinaryRef.AddScaled<float>(R(a), R(b), scale, S(y));

    public virtual void AddScaledBackward(Tensor gy, float scale, Tensor? ga, Tensor? gb) =>
        BinaryRef.AddScaledBackward<float>(R(gy), scale, SOpt(ga), SOpt(gb));
}
