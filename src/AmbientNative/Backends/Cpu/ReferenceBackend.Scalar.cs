using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Affine(Tensor x, float a, float b, Tensor y) => ScalarRef.Affine<float>(R(x), a, b, S(y));

    public virtual void Clamp(Tensor x, float lo, float hi, Tensor y) => ScalarRef.Clamp<float>(R(x), lo, hi, S(y));

    public virtual void ClampBackward(Tensor x, float lo, float hi, Tensor gy, Tensor gx) =>
        ScalarRef.ClampBackward<float>(R(x), lo, hi, R(gy), S(gx));

    public virtual void Pow(Tensor x, float p, Tensor y) => ScalarRef.Pow<float>(R(x), p, S(y));

    public virtual void PowBackward(Tensor x, float p, Tensor gy, Tensor gx) => ScalarRef.PowBackward<float>(R(x), p, R(gy), S(gx));
}
