using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void GroupNormForward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor y, Tensor mean,
        Tensor rstd, GroupNormArgs args)
    {
        GroupNormRef.Forward<float>(R(x), ROpt(shift), ROpt(weight), ROpt(bias), S(y), S(mean), S(rstd), args);
        if (args.Dropout is { } m) Dropout(y, y, m.P, m.Seed, m.Counter); // in place: each element read, then written
    }

    public virtual void GroupNormBackward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd,
        Tensor gy, Tensor? gx, Tensor? gshift, Tensor? gweight, Tensor? gbias, GroupNormArgs args) =>
        GroupNormRef.Backward<float>(R(x), ROpt(shift), ROpt(weight), ROpt(bias), R(mean), R(rstd), R(gy), SOpt(gx),
            SOpt(gshift), SOpt(gweight), SOpt(gbias), args);
}
