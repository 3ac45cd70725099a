using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>FillNormal on CUDA (host draw + upload by default) against NormalRef, output poisoned first.</summary>
[Category("Gpu")]
public class CudaNoiseTests
{
    [TestCase(1)]
    [TestCase(786_433, Category = "GpuLarge")]
    public void Draws_the_reference_values(int n) => Run(Gpu.Device(), n, exact: true);

    /// <summary>
    /// Also run by IlgpuCudaTests with the ILGPU kernel (float32 Box–Muller with PTX's approximate log2/cos): then within
    /// 1e-4 over the vector, on sizes large enough that one value near zero cannot dominate the relative error.
    /// </summary>
    internal static void Run(Device dev, int n, bool exact)
    {
        var expected = new float[n];
        NormalRef.FillRange(expected, 0, n, 123, (1UL << 32) - 7);
        using var y = Gpu.Poisoned(new Shape(n), dev);
        dev.Backend.FillNormal(y, 123, (1UL << 32) - 7);
        if (exact) Assert.That(y.ToArray(), Is.EqualTo(expected));
        else Check.Close(y.ToArray(), Check.ToDouble(expected), 1e-4, "device noise (float32 Box–Muller)");
    }
}
