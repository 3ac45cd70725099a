using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Dropout(Tensor x, Tensor y, float p, ulong seed, ulong counter) =>
        DropoutRef.Apply<float>(R(x), S(y), p, seed, counter);
}
