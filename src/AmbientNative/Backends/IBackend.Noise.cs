using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>
    /// y ← standard normal noise of <see cref="Cpu.Reference.NormalRef"/> at (seed, counter): the values
    /// <c>new Rng(seed, counter).FillNormal</c> would draw, made where the tensor lives (in parallel, or on the device).
    /// The caller advances its generator by <see cref="Cpu.Reference.NormalRef.Blocks"/>(y.Numel).
    /// </summary>
    void FillNormal(Tensor y, ulong seed, ulong counter);
}
