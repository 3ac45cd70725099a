using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Backends.Cuda;
using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// Our CUDA backend inside ILGPU's CUDA context (DESIGN.md, "GPU runtime"): CUDA C kernels and ILGPU kernels on the
/// same tensors and stream. The fused ambient and Tweedie ops run through both implementations against the float64 reference,
/// outputs poisoned first, and an ILGPU result feeds a CUDA C kernel in stream order.
/// </summary>
[Category("Gpu")]
public class IlgpuCudaTests
{
    private Device? _device;

    private CudaBackend Backend()
    {
        // ILGPU talks to the real driver with its own binding and loads PTX: the CUDA emulator can stand in for neither.
        if (CudaEmulator.IsActive(Gpu.Backend())) Assert.Ignore("ILGPU's CUDA accelerator cannot run on the CUDA emulator");
        try { _device ??= CudaDevices.CreateInIlgpuContext(0); }
        catch (CudaUnavailableException e) { Assert.Ignore($"no CUDA device: {e.Message}"); }
        return CudaDevices.Backend(_device!);
    }

    [TestCase(FusedKernelSource.CudaC, 2, 3, 1, 1, 67)]
    [TestCase(FusedKernelSource.Ilgpu, 2, 3, 1, 1, 67)]
    [TestCase(FusedKernelSource.Ilgpu, 130, 1, 1, 1, 2)]
    [TestCase(FusedKernelSource.Ilgpu, 3, 3, 3, 1, 5)]
    [TestCase(FusedKernelSource.Ilgpu, 256, 3, 1, 1, 1024)]
    public void Fused_ambient_ops_match_float64(FusedKernelSource source, int n, int c, int cm, int ck, int hw)
    {
        var be = Backend();
        be.FusedKernels = source;
        try
        {
            Ops.AmbientFusedCheck.Run(be, be.Device, Rand.ForTest(n + hw), n, c, cm, ck, hw, elementTol: 1e-4, lossTol: 1e-4, source.ToString());
        }
        finally { be.FusedKernels = FusedKernelSource.CudaC; }
    }

    [TestCase(FusedKernelSource.Ilgpu, 1, 60)]
    [TestCase(FusedKernelSource.Ilgpu, 130, 2)]
    [TestCase(FusedKernelSource.Ilgpu, 256, 3072, Category = "GpuLarge")]
    [TestCase(FusedKernelSource.CudaC, 3, 300)]
    public void Fused_tweedie_loss_matches_float64(FusedKernelSource source, int n, int size)
    {
        var be = Backend();
        be.FusedKernels = source;
        try
        {
            Ops.TweedieFusedCheck.Run(be, be.Device, Rand.ForTest(n + size), n, size, elementTol: 1e-4, lossTol: 1e-4, source.ToString());
        }
        finally { be.FusedKernels = FusedKernelSource.CudaC; }
    }

    // (N, C, T): odd sizes, and the U-Net's 16×16 level at the reference preset's width (8 images: the float64 reference runs on the host).
    [TestCase(2, 5, 7)]
    [TestCase(1, 130, 130)]
    [TestCase(8, 256, 256, Category = "GpuLarge")]
    public void Fused_attention_matches_float64(int n, int c, int tokens)
    {
        var be = Backend();
        be.FusedKernels = FusedKernelSource.Ilgpu;
        try
        {
            Assert.That(be.PrefersFusedAttention(new(n, c, tokens)), Is.True);
            Ops.AttentionFusedCheck.Run(be, be.Device, Rand.ForTest(n + c + tokens), n, c, tokens, 1e-4, "ILGPU");
        }
        finally { be.FusedKernels = FusedKernelSource.CudaC; }
        Assert.That(be.PrefersFusedAttention(new(n, c, tokens)), Is.False, "CUDA C's fused attention is off by default: the composition runs");
    }

    [TestCase(1)]
    [TestCase(100_003)]
    public void Ilgpu_sampler_step_matches_float64(int n)
    {
        var be = Backend();
        be.FusedKernels = FusedKernelSource.Ilgpu;
        try { CudaSamplerStepTests.Run(be.Device, n); }
        finally { be.FusedKernels = FusedKernelSource.CudaC; }
    }

    [TestCase(1001)]
    [TestCase(786_433, Category = "GpuLarge")]
    public void Ilgpu_noise_matches_the_reference(int n)
    {
        var be = Backend();
        be.FusedKernels = FusedKernelSource.Ilgpu;
        try { CudaNoiseTests.Run(be.Device, n, exact: false); }
        finally { be.FusedKernels = FusedKernelSource.CudaC; }
    }

    [Test]
    public void An_ilgpu_result_feeds_a_cuda_c_kernel_in_stream_order()
    {
        var be = Backend();
        var dev = be.Device;
        be.FusedKernels = FusedKernelSource.Ilgpu;
        try
        {
            var rng = Rand.ForTest();
            const int n = 64, c = 3, hw = 4096;
            var g = new AmbientGeometry(n, c, 1, 1, hw);
            var y = Gpu.F32(Rand.Normal(rng, (int)g.ImageSize));
            var noise = Gpu.F32(Rand.Normal(rng, (int)g.ImageSize));
            var sigma = Gpu.F32(Rand.Uniform(rng, n, 0.05, 5));
            var mask = Rand.Uniform(rng, (int)g.MaskSize, 0, 1).Select(u => u < 0.5 ? 1.0 : 0.0).ToArray();
            var masked64 = new double[g.ImageSize];
            AmbientFusedRef.Input<double>(y, noise, sigma, mask, masked64, new double[g.InputSize], n, c, 1, 1, hw, 0.5);
            Shape image = new(n, c, hw);
            using Tensor ty = Gpu.Upload(y, image, dev), tn = Gpu.Upload(noise, image, dev), ts = Gpu.Upload(sigma, new Shape(n), dev),
                tm = Gpu.Upload(mask, new Shape(n, 1, hw), dev);
            using Tensor masked = Gpu.Poisoned(image, dev), input = Gpu.Poisoned(new Shape(n, c + 1, hw), dev), doubled = Gpu.Poisoned(image, dev);
            be.AmbientInput(ty, tn, ts, tm, masked, input, g, 0.5f);   // ILGPU kernel
            be.Affine(masked, 2f, 0f, doubled);                        // CUDA C kernel, queued behind it, no sync between
            Check.Close(doubled.ToArray(), masked64.Select(v => 2 * v).ToArray(), 1e-4, "2·masked");
        }
        finally { be.FusedKernels = FusedKernelSource.CudaC; }
    }

    [Test]
    public void Ilgpu_fused_kernels_are_refused_outside_ilgpus_context()
    {
        var be = Gpu.Backend();
        if (Environment.GetEnvironmentVariable("AMBIENT_CUDA_CONTEXT") == "ilgpu")
            Assert.Ignore("the shared device was created in ILGPU's context");
        var e = Assert.Throws<InvalidOperationException>(() => be.FusedKernels = FusedKernelSource.Ilgpu)!;
        Assert.That(e.Message, Does.Contain("ILGPU").And.Contain("AMBIENT_CUDA_CONTEXT"));
    }
}
