using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void FillNormal(Tensor y, ulong seed, ulong counter) => NormalRef.FillRange(S(y), 0, y.Numel, seed, counter);
}
