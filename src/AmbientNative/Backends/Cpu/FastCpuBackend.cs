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
}
