using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class FastCpuBackend
{
    /// <summary>The reference's values, drawn in parallel chunks (each element depends only on its index).</summary>
    public override void FillNormal(Tensor y, ulong seed, ulong counter) => FillNormalParallel(Arr(y), y.Numel, seed, counter);

    /// <summary>Every core draws a range (NormalRef makes each element a pure function of its index).</summary>
    internal static void FillNormalParallel(HostArray y, int n, ulong seed, ulong counter) =>
        ForChunks(n, 2, (lo, hi) => NormalRef.FillRange(y.AsSpan(0, n), lo, hi, seed, counter), minParallel: 1 << 12); // ~25 ns per element
}
