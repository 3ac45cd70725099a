using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>
    /// y = x·mask/(1−p), the mask drawn from Philox blocks (seed, counter + i/4) as specified by
    /// <see cref="Cpu.Reference.DropoutRef"/>. Also the backward (applied to gy with the same seed and counter).
    /// </summary>
    void Dropout(Tensor x, Tensor y, float p, ulong seed, ulong counter);
}
