using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>y = a·x + b (also the backward of itself: gx = a·gy).</summary>
    void Affine(Tensor x, float a, float b, Tensor y);
    void Clamp(Tensor x, float lo, float hi, Tensor y);
    void ClampBackward(Tensor x, float lo, float hi, Tensor gy, Tensor gx);
    void Pow(Tensor x, float p, Tensor y);
    void PowBackward(Tensor x, float p, Tensor gy, Tensor gx);
}
