using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>y = a ∘ b; y has the broadcast shape of a and b.</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y);
    /// <summary>ga, gb = gradients of a and b, reduced over broadcast dimensions (overwritten; either may be null).</summary>
    void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb);
    /// <summary>y = (a + b)·scale for a, b and y of one shape (a residual junction); the sum is rounded before the scaling.</summary>
    void AddScaled(Tensor a, Tensor b, float scale, Tensor y);
    /// <summary>ga = gb = scale·gy, gy read once (each overwritten; either may be null): the junction's backward.</summary>
    void AddScaledBackward(Tensor gy, float scale, Tensor? ga, Tensor? gb);
}
