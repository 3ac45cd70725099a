using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void GroupNormForward(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd,
        GroupNormArgs args) =>
        GroupNormRef.Forward<float>(R(x), ROpt(weight), ROpt(bias), S(y), S(mean), S(rstd), args);

    public virtual void GroupNormBackward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd, Tensor gy,
        Tensor? gx, Tensor? gweight, Tensor? gbias, GroupNormArgs args) =>
        GroupNormRef.Backward<float>(R(x), ROpt(weight), ROpt(bias), R(mean), R(rstd), R(gy),
            gx == null ? default : S(gx), gweight == null ? default : S(gweight), gbias == null ? default : S(gbias), args);
}
