using AmbientNative.Backends.Cuda.Native;

namespace AmbientNative.Backends.Cuda;

/// <summary>What the driver says about a device: enough to pick an architecture and to state a roofline.</summary>
public sealed record CudaDeviceInfo(int Ordinal, string Name, int Major, int Minor, int SmCount, int ClockKHz,
    int MemoryClockKHz, int MemoryBusWidthBits, int L2Bytes, long TotalMemoryBytes, int DriverVersion)
{
    /// <summary>NVRTC's real-architecture name, e.g. "sm_90".</summary>
    public string Arch => $"sm_{Major}{Minor}";

    /// <summary>
    /// Peak fp32 FMA rate (non-tensor) in FLOP/s from the reported boost clock: SMs × 128 fp32 lanes × 2.
    /// 128 lanes per SM holds for compute capability 8.6, 8.9, 9.x and 10.x+; 8.0 has 64.
    /// </summary>
    public double PeakFp32Flops => SmCount * (Major == 8 && Minor == 0 ? 64 : 128) * 2.0 * ClockKHz * 1e3;

    /// <summary>Theoretical DRAM bandwidth in bytes/s (double data rate).</summary>
    public double PeakBandwidth => 2.0 * MemoryClockKHz * 1e3 * MemoryBusWidthBits / 8;

    public override string ToString() =>
        $"cuda:{Ordinal} {Name} (sm_{Major}{Minor}, {SmCount} SMs @ {ClockKHz / 1000} MHz, " +
        $"{TotalMemoryBytes / (1L << 30)} GiB, L2 {L2Bytes >> 20} MiB, driver {DriverVersion / 1000}.{DriverVersion % 1000 / 10})";

    internal static CudaDeviceInfo Query(int ordinal)
    {
        int d = CudaDriver.DeviceGet(ordinal);
        int A(int attr) => CudaDriver.DeviceAttribute(d, attr);
        return new CudaDeviceInfo(ordinal, CudaDriver.DeviceName(d),
            A(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), A(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
            A(CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), A(CudaDriver.CU_DEVICE_ATTRIBUTE_CLOCK_RATE),
            A(CudaDriver.CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE), A(CudaDriver.CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH),
            A(CudaDriver.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE), CudaDriver.DeviceTotalMem(d), CudaDriver.DriverVersion());
    }
}

/// <summary>
/// The seam between our kernels and whoever owns the CUDA context: a context handle plus the one stream all
/// our work is queued on (every op is stream-ordered, so buffers can be recycled without synchronising).
/// Today we retain the device's primary context, the one the CUDA runtime (and PyTorch) also use, and create
/// a non-blocking stream. To run inside ILGPU's context instead, construct with <see cref="Borrow"/> from its
/// accelerator's context and stream handles: nothing else changes (see docs/ARCHITECTURE-gpu.md).
/// </summary>
public sealed class CudaContext : IDisposable
{
    private readonly bool _owned;
    private bool _disposed;

    private CudaContext(CudaDeviceInfo info, IntPtr context, IntPtr stream, bool owned)
    {
        Info = info; Handle = context; Stream = stream; _owned = owned;
    }

    public CudaDeviceInfo Info { get; }
    public IntPtr Handle { get; }
    public IntPtr Stream { get; }

    /// <summary>Retains the primary context of device <paramref name="ordinal"/> and creates our stream in it.</summary>
    public static CudaContext CreatePrimary(int ordinal)
    {
        CudaDriver.EnsureLoaded();
        int count = CudaDriver.DeviceCount();
        if ((uint)ordinal >= (uint)count)
            throw new CudaUnavailableException($"CUDA device {ordinal} does not exist: the driver reports {count} device(s).");
        var info = CudaDeviceInfo.Query(ordinal);
        var ctx = CudaDriver.PrimaryCtxRetain(CudaDriver.DeviceGet(ordinal));
        CudaDriver.CtxSetCurrent(ctx);
        var stream = CudaDriver.StreamCreate(CudaDriver.CU_STREAM_NON_BLOCKING);
        return new CudaContext(info, ctx, stream, owned: true);
    }

    /// <summary>Uses a context and stream owned by someone else (e.g. ILGPU's CudaAccelerator); Dispose releases nothing.</summary>
    public static CudaContext Borrow(int ordinal, IntPtr context, IntPtr stream)
    {
        CudaDriver.EnsureLoaded();
        return new CudaContext(CudaDeviceInfo.Query(ordinal), context, stream, owned: false);
    }

    /// <summary>
    /// Binds the context to the calling thread. Driver calls act on the thread's current context and .NET may
    /// run us on any thread, so every entry point calls this (cuCtxSetCurrent is a cheap thread-local store).
    /// </summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CudaDriver.CtxSetCurrent(Handle);
    }

    public void Synchronize()
    {
        MakeCurrent();
        CudaDriver.StreamSynchronize(Stream);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_owned) return;
        CudaDriver.CtxSetCurrent(Handle);
        CudaDriver.StreamSynchronize(Stream);
        CudaDriver.StreamDestroy(Stream);
        CudaDriver.PrimaryCtxRelease(CudaDriver.DeviceGet(Info.Ordinal));
    }
}
