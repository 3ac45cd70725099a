using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>y[o, i] = scale·Σₖ x[o, k, i] for x seen as [Outer, Size, Inner]; y has Outer·Inner elements.</summary>
    void Sum(Tensor x, Tensor y, AxisGeometry g, float scale);
    /// <summary>gx[o, k, i] = scale·gy[o, i].</summary>
    void SumBackward(Tensor gy, Tensor gx, AxisGeometry g, float scale);
}
