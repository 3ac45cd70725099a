using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void AmbientInput(Tensor y, Tensor noise, Tensor sigma, Tensor mask, Tensor masked, Tensor input, AmbientGeometry g, float sigmaData) =>
        AmbientFusedRef.Input<float>(R(y), R(noise), R(sigma), R(mask), S(masked), S(input), g.N, g.C, g.MaskChannels, g.InputMaskChannels, g.Pixels, sigmaData);

    public virtual void AmbientLoss(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor loss, AmbientGeometry g) =>
        S(loss)[0] = AmbientFusedRef.Loss<float>(R(d), R(y), R(mask), R(weight), g.N, g.C, g.MaskChannels, g.Pixels);

    public virtual void AmbientLossBackward(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor gLoss, Tensor gd, AmbientGeometry g) =>
        AmbientFusedRef.LossBackward<float>(R(d), R(y), R(mask), R(weight), R(gLoss)[0], S(gd), g.N, g.C, g.MaskChannels, g.Pixels);
}
