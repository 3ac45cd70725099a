using AmbientNative.Backends.Cpu;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// The ILGPU kernels run on ILGPU's CPU accelerator over host tensors: the fast CPU backend with every op that has
/// an ILGPU kernel (IlgpuCpuBackend.&lt;Family&gt;.cs) replaced by it. It exists so that the C# kernels are checked
/// against the reference in CI, on a machine without a GPU; it is slow (an emulator), not a CPU backend to train on.
/// The kernels themselves (Ilgpu&lt;Family&gt;.cs) work on ArrayViews and know nothing of where the memory lives.
/// </summary>
public sealed partial class IlgpuCpuBackend : FastCpuBackend, IDisposable
{
    private readonly IlgpuRuntime _runtime;

    public IlgpuCpuBackend() : this(IlgpuRuntime.CreateCpu()) { }

    internal IlgpuCpuBackend(IlgpuRuntime runtime)
    {
        _runtime = runtime;
    }

    public override string Name => "cpu-ilgpu";
    protected override Device DeviceFor() => Device.CpuIlgpu;

    /// <summary>Pins a CPU tensor's storage and wraps it as a view (dispose after <see cref="Sync"/>).</summary>
    private HostView<float> V(Tensor t) => t.Storage is CpuStorage c
        ? new HostView<float>(_runtime.Accelerator, c.Array, c.Offset, c.Length)
        : throw new InvalidOperationException($"The ILGPU CPU backend got a tensor {t.Shape} on {t.Device}.");

    /// <summary>A host array (geometry, per-sample scalars) as a view for one launch.</summary>
    private HostView<T> V<T>(T[] a) where T : unmanaged => new(_runtime.Accelerator, a, a.Length);

    /// <summary>Waits for the launched kernels: views may be unpinned only after this.</summary>
    private void Sync() => _runtime.Accelerator.Synchronize();

    public void Dispose() => _runtime.Dispose();
}
