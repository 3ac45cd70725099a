using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>y = conv(x, w) + bias. bias may be null.</summary>
    void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g);
    /// <summary>gx = ∂L/∂x (overwritten).</summary>
    void Conv2dBackwardData(Tensor gy, Tensor w, Tensor gx, Conv2dGeometry g);
    /// <summary>gw = ∂L/∂w and gbias = ∂L/∂bias (both overwritten; gbias may be null).</summary>
    void Conv2dBackwardWeight(Tensor x, Tensor gy, Tensor gw, Tensor? gbias, Conv2dGeometry g);
}
