using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

/// <summary>
/// The CPU fallback used by default: the reference for everything, with the hot ops (Fast/) replaced by
/// SIMD + Parallel.For versions that are tested against the reference. Partial: overrides live in
/// FastCpuBackend.&lt;Family&gt;.cs.
/// </summary>
public partial class FastCpuBackend : ReferenceBackend
{
    public override string Name => "cpu-fast";
    protected override Device DeviceFor() => Device.Cpu;

    /// <summary>A CPU tensor's elements for loops that run in closures (offset-aware: the storage may be a slice).</summary>
    private static HostArray Arr(Tensor t) => t.Storage is CpuStorage c
        ? new HostArray(c.Array, c.Offset, c.Length)
        : throw new InvalidOperationException($"The fast CPU backend got a tensor {t.Shape} on {t.Device}.");

    /// <summary>An optional tensor's elements (empty when null).</summary>
    private static HostArray ArrOpt(Tensor? t) => t == null ? default : Arr(t);
}
