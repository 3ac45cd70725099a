using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Device memory we own (a <see cref="Cuda.CudaStorage"/> from our caching allocator) presented to ILGPU as a buffer,
/// so an ILGPU kernel reads and writes our tensors in place: one storage serves both kinds of kernel. ILGPU never
/// allocates, frees or copies it; copies go through our own backend, so those members refuse.
/// </summary>
internal sealed class ExternalDeviceBuffer : MemoryBuffer
{
    public ExternalDeviceBuffer(Accelerator accelerator, IntPtr pointer, long length, int elementSize)
        : base(accelerator, length, elementSize)
    {
        NativePtr = pointer;
        GC.SuppressFinalize(this); // one is made per view per launch, and disposing one does nothing: spare the GC the finalizer
    }

    public static ArrayView<float> View(Accelerator accelerator, ulong pointer, int length) =>
        new ExternalDeviceBuffer(accelerator, (IntPtr)(long)pointer, length, sizeof(float)).AsArrayView<float>(0, length);

    protected override void MemSet(AcceleratorStream stream, byte value, in ArrayView<byte> targetView) =>
        throw new NotSupportedException("ExternalDeviceBuffer: fill through the CUDA backend, which owns this memory.");

    protected override void CopyTo(AcceleratorStream stream, in ArrayView<byte> sourceView, in ArrayView<byte> targetView) =>
        throw new NotSupportedException("ExternalDeviceBuffer: copy through the CUDA backend, which owns this memory.");

    protected override void CopyFrom(AcceleratorStream stream, in ArrayView<byte> sourceView, in ArrayView<byte> targetView) =>
        throw new NotSupportedException("ExternalDeviceBuffer: copy through the CUDA backend, which owns this memory.");

    // The memory belongs to our allocator: nothing to free here.
    protected override void DisposeAcceleratorObject(bool disposing) { }
}
