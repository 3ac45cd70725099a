using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>The sampler update on CUDA (composed from the binary and affine kernels) against the float64 reference, outputs poisoned.</summary>
[Category("Gpu")]
public class CudaSamplerStepTests
{
    [TestCase(1)]
    [TestCase(100_003)]
    public void Euler_and_heun_updates_match_float64(int n) => Run(Gpu.Device(), n);

    /// <summary>The same check on any device (IlgpuCudaTests runs it with the ILGPU kernel selected).</summary>
    internal static void Run(Device dev, int n)
    {
        var rng = Rand.ForTest(n);
        var xHat = Gpu.F32(Rand.Normal(rng, n)); var d1 = Gpu.F32(Rand.Normal(rng, n));
        var xE = Gpu.F32(Rand.Normal(rng, n)); var d2 = Gpu.F32(Rand.Normal(rng, n));
        var euler64 = new double[n]; var heun64 = new double[n];
        SamplerRef.Step<double>(xHat, d1, [], [], euler64, 2.7, 1.9);
        SamplerRef.Step<double>(xHat, d1, xE, d2, heun64, 2.7, 1.9);
        var s = new Shape(n);
        using Tensor tx = Gpu.Upload(xHat, s, dev), td1 = Gpu.Upload(d1, s, dev), txe = Gpu.Upload(xE, s, dev), td2 = Gpu.Upload(d2, s, dev);
        using Tensor euler = Gpu.Poisoned(s, dev), heun = Gpu.Poisoned(s, dev);
        dev.Backend.SamplerStep(tx, td1, null, null, euler, 2.7, 1.9);
        dev.Backend.SamplerStep(tx, td1, txe, td2, heun, 2.7, 1.9);
        Check.Close(euler.ToArray(), euler64, 1e-4, "Euler");
        Check.Close(heun.ToArray(), heun64, 1e-4, "Heun");
    }
}
