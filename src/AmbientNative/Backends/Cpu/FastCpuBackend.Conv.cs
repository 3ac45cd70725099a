using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

/// <summary>Convolution through im2col + the blocked SGEMM (Fast/Conv2dGemm.cs), tested against Conv2dRef.</summary>
public partial class FastCpuBackend
{
    public override void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g, ConvResidual? residual = null)
    {
        Conv2dGemm.Forward(R(x), R(w), ROpt(bias), S(y), g);
        if (residual is { } r) AddScaled(y, ConvResidual.Checked(r.Skip, y), r.Scale, y); // in place, elementwise: a second pass on the CPU
    }

    public override void Conv2dBackwardData(Tensor gy, Tensor w, Tensor gx, Conv2dGeometry g) =>
        Conv2dGemm.BackwardData(R(gy), R(w), S(gx), g);

    public override void Conv2dBackwardWeight(Tensor x, Tensor gy, Tensor gw, Tensor? gbias, Conv2dGeometry g) =>
        Conv2dGemm.BackwardWeight(R(x), R(gy), S(gw), gbias == null ? default : S(gbias), g);
}
