using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>
    /// One Heun-sampler update in one pass (<see cref="Cpu.Reference.SamplerRef.Step{T}"/>): the Euler step from x̂
    /// and D₁ when <paramref name="xEuler"/> and <paramref name="d2"/> are null, else the Heun correction. All
    /// tensors have one shape.
    /// </summary>
    void SamplerStep(Tensor xHat, Tensor d1, Tensor? xEuler, Tensor? d2, Tensor y, double sigmaHat, double sigmaNext);
}
