using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>The fused Tweedie loss kernels (kernels/tweedie_fused.cu) against the float64 reference, with poisoned outputs.</summary>
[Category("Gpu")]
public class CudaTweedieFusedTests
{
    // (N, elements per image): batch 1, more images than a block has threads, an image larger than a block, and the
    // benchmark's batch (256 images of 3·32·32).
    [TestCase(1, 60)]
    [TestCase(1100, 2)]
    [TestCase(3, 3 * 33 * 35)]
    [TestCase(256, 3072, Category = "GpuLarge")]
    public void Loss_and_gradient_match_float64(int n, int size)
    {
        var dev = Gpu.Device();
        Ops.TweedieFusedCheck.Run(dev.Backend, dev, Rand.ForTest(n + size), n, size, elementTol: 1e-4, lossTol: 1e-4, "CUDA C");
    }
}
