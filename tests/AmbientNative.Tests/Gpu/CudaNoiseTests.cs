using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>FillNormal on CUDA (kernels/noise.cu by default) against NormalRef, output poisoned first.</summary>
[Category("Gpu")]
public class CudaNoiseTests
{
    // One element, odd and even counts (the last Philox block half used or not), a grid-stride loop that goes round
    // several times, and a training batch's worth (256 × 3 × 32 × 32 + 1).
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(1001)]
    [TestCase(65_537)]
    [TestCase(786_433, Category = "GpuLarge")]
    public void Draws_the_reference_values(int n) => Run(Gpu.Device(), n, exact: true);

    /// <summary>
    /// exact: the reference's values, but for at most a few elements one float ulp away (CUDA's double log and cos are
    /// within an ulp, not correctly rounded; about one element in 2^28 rounds the other way). Otherwise (the ILGPU kernel,
    /// float32 Box–Muller with PTX's approximate log2/cos, from IlgpuCudaTests) within 1e-4 over the vector, on sizes
    /// large enough that one value near zero cannot dominate the relative error.
    /// </summary>
    internal static void Run(Device dev, int n, bool exact)
    {
        var expected = new float[n];
        NormalRef.FillRange(expected, 0, n, 123, (1UL << 32) - 7);
        using var y = Gpu.Poisoned(new Shape(n), dev);
        dev.Backend.FillNormal(y, 123, (1UL << 32) - 7);
        var got = y.ToArray();
        if (!exact)
        {
            Check.Close(got, Check.ToDouble(expected), 1e-4, "device noise (float32 Box–Muller)");
            return;
        }
        int differing = 0;
        for (int i = 0; i < n; i++)
        {
            if (BitConverter.SingleToInt32Bits(got[i]) == BitConverter.SingleToInt32Bits(expected[i])) continue;
            differing++;
            Assert.That(Math.Abs(got[i] - expected[i]), Is.LessThanOrEqualTo(MathF.BitIncrement(Math.Abs(expected[i])) - Math.Abs(expected[i])),
                $"element {i}: {got[i]:R} vs the reference's {expected[i]:R}");
        }
        // The emulator runs the kernel with the host's own libm: no difference at all there.
        int allowed = dev.Backend is AmbientNative.Backends.Cuda.CudaBackend cb && CudaEmulator.IsActive(cb) ? 0 : 2 + n / 1_000_000;
        Assert.That(differing, Is.LessThanOrEqualTo(allowed), $"{differing} of {n} elements differ in their last bit");
    }
}
