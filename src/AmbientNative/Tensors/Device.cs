namespace AmbientNative.Tensors;

public enum DeviceKind { Cpu, Cuda }

/// <summary>Where a tensor's storage lives. Each device owns the backend that runs ops on it.</summary>
public sealed class Device
{
    private readonly Func<Backends.IBackend> _backendFactory;
    private Backends.IBackend? _backend;

    public Device(DeviceKind kind, int index, string name, Func<Backends.IBackend> backendFactory)
    {
        Kind = kind; Index = index; Name = name; _backendFactory = backendFactory;
    }

    public DeviceKind Kind { get; }
    public int Index { get; }
    /// <summary>Human-readable name, e.g. "cpu (fast, 2 threads)" or "cuda:0 NVIDIA H100".</summary>
    public string Name { get; }
    public Backends.IBackend Backend => _backend ??= _backendFactory();

    /// <summary>The CPU device with the fast (SIMD + parallel) backend.</summary>
    public static Device Cpu { get; } = new(DeviceKind.Cpu, 0, $"cpu (fast, {Environment.ProcessorCount} threads)",
        () => new Backends.Cpu.FastCpuBackend());

    /// <summary>The CPU device running the plain reference loops: the specification, for tests.</summary>
    public static Device CpuReference { get; } = new(DeviceKind.Cpu, 0, "cpu (reference)",
        () => new Backends.Cpu.ReferenceBackend());

    /// <summary>
    /// The CPU device whose ops run the ILGPU kernels on ILGPU's CPU accelerator (an emulator: slow, for parity tests
    /// of the C# kernels), falling back to the fast CPU backend for ops without an ILGPU kernel.
    /// </summary>
    public static Device CpuIlgpu { get; } = new(DeviceKind.Cpu, 0, "cpu (ILGPU CPU accelerator)",
        () => new Backends.Ilgpu.IlgpuCpuBackend());

    /// <summary>CUDA device <paramref name="ordinal"/>; throws Backends.Cuda.Native.CudaUnavailableException saying why when there is none.</summary>
    public static Device Cuda(int ordinal = 0) => Backends.Cuda.CudaDevices.Get(ordinal);

    /// <summary>CUDA device 0 when one works, else <see cref="Cpu"/>; Backends.Cuda.CudaDevices.AutoReason says why, in one line.</summary>
    public static Device Auto => Backends.Cuda.CudaDevices.Auto;

    public override string ToString() => Name;
}
