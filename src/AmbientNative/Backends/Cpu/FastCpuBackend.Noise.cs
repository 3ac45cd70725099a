using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class FastCpuBackend
{
    /// <summary>The reference's values, drawn in parallel chunks (each element depends only on its index).</summary>
    public override void FillNormal(Tensor y, ulong seed, ulong counter)
    {
        HostArray ys = Arr(y);
        int n = y.Numel;
        ForChunks(n, 2, (lo, hi) => NormalRef.FillRange(ys.AsSpan(0, n), lo, hi, seed, counter), minParallel: 1 << 12); // ~25 ns per element
    }
}
