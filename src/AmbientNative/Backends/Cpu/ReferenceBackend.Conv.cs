using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g, ConvResidual? residual = null)
    {
        Conv2dRef.Forward<float>(R(x), R(w), ROpt(bias), S(y), g);
        if (residual is { } r) AddScaled(y, ConvResidual.Checked(r.Skip, y), r.Scale, y); // a second pass here; the GPU folds it into the conv
    }

    public virtual void Conv2dBackwardData(Tensor gy, Tensor w, Tensor gx, Conv2dGeometry g) =>
        Conv2dRef.BackwardData<float>(R(gy), R(w), S(gx), g);

    public virtual void Conv2dBackwardWeight(Tensor x, Tensor gy, Tensor gw, Tensor? gbias, Conv2dGeometry g) =>
        Conv2dRef.BackwardWeight<float>(R(x), R(gy), S(gw), gbias == null ? default : S(gbias), g);
}
