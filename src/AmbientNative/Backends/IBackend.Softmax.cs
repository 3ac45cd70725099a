using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>y = softmax of x over its last dimension.</summary>
    void Softmax(Tensor x, Tensor y);
    /// <summary>gx from the forward output y and gy.</summary>
    void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx);
}
