using AmbientNative.Backends.Cuda;
using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>Shared by the GPU fixtures: the device, or Assert.Ignore with the reason there is none (CI has no GPU).</summary>
public static class Gpu
{
    public static Device Device()
    {
        try { return Tensors.Device.Cuda(0); }
        catch (CudaUnavailableException e) { Assert.Ignore($"no CUDA device: {e.Message}"); throw; }
    }

    public static CudaBackend Backend() => CudaDevices.Backend(Device());

    /// <summary>Ignores the test unless NVRTC can be loaded (it needs no GPU: compile-only tests).</summary>
    public static void RequireNvrtc()
    {
        if (Nvrtc.UnavailableReason is { } r) Assert.Ignore($"no NVRTC: {r}");
    }

    /// <summary>A tensor on <paramref name="device"/> filled with NaN: any element a kernel fails to write shows.</summary>
    public static Tensor Poisoned(Shape shape, Device device) => Tensor.Full(shape, float.NaN, device);

    /// <summary>Float64 test data rounded to float32, so the float64 reference sees exactly what the device gets.</summary>
    public static double[] F32(double[] x) => Check.ToDouble(Check.ToFloat(x));

    /// <summary>Float64 data (rounded to float32) as a tensor on <paramref name="device"/>.</summary>
    public static Tensor Upload(double[] x, Shape shape, Device device) => Tensor.FromArray(Check.ToFloat(x), shape, device);
}
