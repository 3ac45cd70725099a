using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

/// <summary>
/// Device storage: a block from the backend's caching allocator (possibly larger than Length floats), or a slice
/// of another device storage (its pointer plus an offset; the block stays the parent's).
/// </summary>
public sealed class CudaStorage : Storage
{
    private readonly CudaBackend _backend;
    private readonly long _bucket;
    private ulong _ptr;
    private readonly CudaStorage? _parent; // set for a slice

    internal CudaStorage(CudaBackend backend, int length) : base(length)
    {
        _backend = backend;
        _ptr = backend.Allocator.Rent(4L * length, out _bucket);
    }

    private CudaStorage(CudaStorage parent, int offset, int length) : base(length)
    {
        _backend = parent._backend;
        _parent = parent;
        _ptr = parent.Pointer + 4UL * (ulong)offset;
    }

    public override Device Device => _backend.Device;

    /// <summary>The device address (CUdeviceptr).</summary>
    public ulong Pointer => _ptr != 0 ? _ptr : throw new ObjectDisposedException(nameof(CudaStorage));

    protected override Storage CreateSlice(int offset, int length) => new CudaStorage(this, offset, length);

    protected override void Free()
    {
        var p = _ptr;
        _ptr = 0;
        if (_parent != null) _parent.Release();
        else if (p != 0) _backend.Allocator.Return(p, _bucket);
    }

    /// <summary>Waits for the queued work that writes this buffer, then copies it out.</summary>
    public override unsafe void CopyTo(Span<float> destination)
    {
        if (destination.Length < Length) throw new ArgumentException($"Destination holds {destination.Length} floats; the storage has {Length}.");
        if (Length == 0) return;
        var ctx = _backend.Context;
        ctx.MakeCurrent();
        fixed (float* p = destination)
        {
            CudaDriver.MemcpyDtoHAsync(p, Pointer, 4L * Length, ctx.Stream);
            CudaDriver.StreamSynchronize(ctx.Stream);
        }
    }

    /// <summary>
    /// Queues the upload on our stream. From pageable memory the driver stages the data before returning, so
    /// the caller may reuse <paramref name="source"/> at once.
    /// </summary>
    public override unsafe void CopyFrom(ReadOnlySpan<float> source)
    {
        if (source.Length != Length) throw new ArgumentException($"Source holds {source.Length} floats; the storage has {Length}.");
        if (Length == 0) return;
        var ctx = _backend.Context;
        ctx.MakeCurrent();
        fixed (float* p = source) CudaDriver.MemcpyHtoDAsync(Pointer, p, 4L * Length, ctx.Stream);
    }
}
