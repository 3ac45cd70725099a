using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void TweedieLoss(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor loss, TweedieGeometry g) =>
        S(loss)[0] = TweedieFusedRef.Loss<float>(R(d), R(xt), R(xtn), R(coefficients), g.N, g.ImageElements);

    public virtual void TweedieLossBackward(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor gLoss, Tensor gd, TweedieGeometry g) =>
        TweedieFusedRef.LossBackward<float>(R(d), R(xt), R(xtn), R(coefficients), R(gLoss)[0], S(gd), g.N, g.ImageElements);
}
