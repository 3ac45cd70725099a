using AmbientNative.Tensors;

namespace AmbientNative.Tests.Testing;

/// <summary>
/// The CPU devices an op fixture runs on: the reference, the fast backend, and the ILGPU kernels on ILGPU's CPU
/// accelerator (ops without an ILGPU kernel fall back to the fast backend there, so listing it is always valid).
/// </summary>
public static class CpuDevices
{
    public static readonly Device[] All = [Device.CpuReference, Device.Cpu, Device.CpuIlgpu];
}
