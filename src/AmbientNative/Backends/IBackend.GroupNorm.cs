using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>
    /// y = GroupNorm(x + shift) (then SiLU when <see cref="GroupNormArgs.Silu"/>); shift [N, C] is broadcast over the
    /// pixels, or null; weight and bias [C] are both null or both given. Also writes mean and rstd [N, Groups], which
    /// the backward reads.
    /// </summary>
    void GroupNormForward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd,
        GroupNormArgs args);
    /// <summary>
    /// gx, gshift [N, C] (this op's gradient of x summed over each channel's pixels), gweight and gbias from gy (each
    /// null when not wanted); mean and rstd come from the forward, shift is the forward's. With
    /// <see cref="GroupNormArgs.AccumulateGx"/>, gx += this op's gradient of x (rounded first, then added).
    /// </summary>
    void GroupNormBackward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd, Tensor gy,
        Tensor? gx, Tensor? gshift, Tensor? gweight, Tensor? gbias, GroupNormArgs args);
}
