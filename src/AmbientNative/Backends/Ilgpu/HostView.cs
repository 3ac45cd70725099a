using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// A host array pinned and wrapped as an ILGPU view on the CPU accelerator, without a copy: the kernels then read
/// and write the tensor's own storage, as on the GPU they would read our device pointers. Dispose only after the
/// accelerator has finished with it (the backend synchronizes before its views go out of scope).
/// </summary>
internal sealed class HostView<T> : IDisposable where T : unmanaged
{
    private GCHandle _handle;
    private readonly MemoryBuffer _buffer;

    public HostView(Accelerator accelerator, T[] array, int length) : this(accelerator, array, 0, length) { }

    /// <summary>Elements [offset, offset + length) of the array (a tensor that is a slice of a larger storage).</summary>
    public HostView(Accelerator accelerator, T[] array, int offset, int length)
    {
        if (offset < 0 || length < 0 || (long)offset + length > array.Length) throw new ArgumentOutOfRangeException(nameof(length));
        _handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        _buffer = CPUMemoryBuffer.Create(accelerator, _handle.AddrOfPinnedObject() + (nint)offset * Interop.SizeOf<T>(), length, Interop.SizeOf<T>());
        View = _buffer.AsArrayView<T>(0, length);
    }

    public ArrayView<T> View { get; }

    public void Dispose()
    {
        _buffer.Dispose();
        if (_handle.IsAllocated) _handle.Free();
    }
}
