using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>
    /// y = conv(x, w) + bias (bias may be null); with <paramref name="residual"/>, y = (that + skip)·scale, the
    /// convolution rounded first (the bits of a separate <see cref="AddScaled"/>); skip has y's size and is not y.
    /// </summary>
    void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g, ConvResidual? residual = null);
    /// <summary>gx = ∂L/∂x (overwritten).</summary>
    void Conv2dBackwardData(Tensor gy, Tensor w, Tensor gx, Conv2dGeometry g);
    /// <summary>gw = ∂L/∂w and gbias = ∂L/∂bias (both overwritten; gbias may be null).</summary>
    void Conv2dBackwardWeight(Tensor x, Tensor gy, Tensor gw, Tensor? gbias, Conv2dGeometry g);
}
