using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>
    /// y = GroupNorm(x) (then SiLU when <see cref="GroupNormArgs.Silu"/>); weight and bias [C] are both null or
    /// both given. Also writes mean and rstd [N, Groups], which the backward reads.
    /// </summary>
    void GroupNormForward(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, GroupNormArgs args);
    /// <summary>gx, gweight, gbias from gy (each null when not wanted); mean and rstd come from the forward.</summary>
    void GroupNormBackward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd, Tensor gy,
        Tensor? gx, Tensor? gweight, Tensor? gbias, GroupNormArgs args);
}
