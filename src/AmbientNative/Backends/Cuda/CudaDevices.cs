using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

/// <summary>
/// One <see cref="Device"/> per CUDA ordinal, created on first use (tensors compare devices by reference).
/// Behind <see cref="Device.Cuda"/> and <see cref="Device.Auto"/>.
/// </summary>
public static class CudaDevices
{
    private static readonly Dictionary<int, Device> Devices = new();
    private static readonly Lazy<(Device Device, string Reason)> AutoChoice = new(ChooseAuto);

    /// <summary>The device for CUDA ordinal <paramref name="ordinal"/>; throws <see cref="CudaUnavailableException"/> saying why not.</summary>
    public static Device Get(int ordinal)
    {
        lock (Devices)
        {
            if (Devices.TryGetValue(ordinal, out var d)) return d;
            d = Environment.GetEnvironmentVariable("AMBIENT_CUDA_CONTEXT") == "ilgpu" ? CreateInIlgpuContext(ordinal) : Create(ordinal, null);
            Devices[ordinal] = d;
            return d;
        }
    }

    private static Device Create(int ordinal, Ilgpu.IlgpuRuntime? ilgpu)
    {
        Nvrtc.EnsureLoaded(); // without the compiler no kernel can run: fail here, not at the first op
        var context = ilgpu == null
            ? CudaContext.CreatePrimary(ordinal)
            : CudaContext.Borrow(ordinal, ilgpu.CudaContextHandle, ilgpu.CudaStreamHandle);
        CudaBackend? backend = null;
        var d = new Device(DeviceKind.Cuda, ordinal, $"cuda:{ordinal} {context.Info.Name}{(ilgpu == null ? "" : " (ILGPU context)")}", () => backend!);
        backend = new CudaBackend(context, d, new KernelCache(KernelCache.DefaultDirectory())) { Ilgpu = ilgpu };
        return d;
    }

    /// <summary>
    /// A new device (not the cached one of <see cref="Get"/>) whose backend runs in ILGPU's CUDA context and on its
    /// stream, so the ILGPU kernels can run on its tensors too (<see cref="CudaBackend.FusedKernels"/>). Get returns
    /// such a device when AMBIENT_CUDA_CONTEXT=ilgpu. Not yet run on a GPU (no device in the session that wrote it).
    /// </summary>
    public static Device CreateInIlgpuContext(int ordinal)
    {
        CudaDriver.EnsureLoaded();
        return Create(ordinal, Ilgpu.IlgpuRuntime.CreateCuda(ordinal));
    }

    /// <summary>The backend of a CUDA device (for runtime tests and benchmarks).</summary>
    public static CudaBackend Backend(Device device) => device.Backend as CudaBackend
        ?? throw new ArgumentException($"{device} is not a CUDA device.");

    /// <summary>Why <see cref="Device.Auto"/> chose what it chose, in one line.</summary>
    public static string AutoReason => AutoChoice.Value.Reason;

    internal static Device Auto => AutoChoice.Value.Device;

    private static (Device, string) ChooseAuto()
    {
        try
        {
            var d = Get(0);
            return (d, $"using {CudaBackend(d).Context.Info}");
        }
        catch (Exception e) when (e is CudaUnavailableException or CudaException or NvrtcException)
        {
            return (Device.Cpu, $"using the CPU: {e.Message}");
        }
    }

    private static CudaBackend CudaBackend(Device d) => (CudaBackend)d.Backend;
}
