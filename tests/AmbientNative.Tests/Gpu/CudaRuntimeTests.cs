using AmbientNative.Autograd;
using AmbientNative.Backends.Cuda;
using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>The runtime itself on a real device: errors, the allocator, NVRTC, the device description.</summary>
[Category("Gpu")]
public class CudaRuntimeTests
{
    [Test]
    public void Describes_the_device()
    {
        var be = Gpu.Backend();
        var info = be.Context.Info;
        TestContext.Out.WriteLine($"{info}; fp32 peak {info.PeakFp32Flops / 1e12:F1} TFLOP/s, DRAM {info.PeakBandwidth / 1e12:F2} TB/s; NVRTC {Nvrtc.Version()}");
        Assert.That(info.SmCount, Is.GreaterThan(0));
        Assert.That(info.Arch, Does.StartWith("sm_"));
        Assert.That(Device.Auto, Is.SameAs(Device.Cuda(0)), CudaDevices.AutoReason);
    }

    [Test]
    public void A_bad_launch_names_the_call_the_error_and_the_kernel()
    {
        var be = Gpu.Backend();
        using var y = Tensor.Full(new Shape(16), 1f, be.Device);
        var args = new AxpyArgs { Y = be.P(y), X = be.P(y), N = 16, Alpha = 1f };
        var e = Assert.Throws<CudaException>(() => be.Launch("elementwise.cu", "axpy", 1u, 4096u, args))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("cuLaunchKernel").And.Contain("CUDA_ERROR_INVALID_VALUE").And.Contain("axpy"));
        Assert.That(y.ToArray(), Is.All.EqualTo(1f), "the context still works after a rejected launch");
    }

    [Test]
    public void A_missing_kernel_names_it()
    {
        var be = Gpu.Backend();
        var e = Assert.Throws<CudaException>(() => be.Modules.Get("elementwise.cu", "no_such_kernel"))!;
        Assert.That(e.Message, Does.Contain("cuModuleGetFunction").And.Contain("no_such_kernel"));
    }

    [Test]
    public void The_allocator_reuses_freed_blocks()
    {
        var be = Gpu.Backend();
        var t1 = Tensor.Empty(new Shape(1000), be.Device);
        ulong p1 = ((CudaStorage)t1.Storage).Pointer;
        t1.Dispose();
        long before = be.Allocator.DeviceAllocations;
        // 990 floats share the 512-byte bucket of 1000; with exact-size blocks only the same size does.
        using var t2 = Tensor.Empty(new Shape(CudaAllocator.ExactSizes ? 1000 : 990), be.Device);
        Assert.That(((CudaStorage)t2.Storage).Pointer, Is.EqualTo(p1));
        Assert.That(be.Allocator.DeviceAllocations, Is.EqualTo(before));
    }

    [Test]
    public void A_training_step_allocates_nothing_after_the_first()
    {
        var dev = Gpu.Device();
        var be = CudaDevices.Backend(dev);
        var rng = Rand.ForTest();
        using var w = Tensor.Randn(new Shape(6, 4, 3, 3), rng, dev, 0.3f).RequireGrad();
        using var b = Tensor.Randn(new Shape(6), rng, dev).RequireGrad();
        using var x = Tensor.Randn(new Shape(3, 4, 10, 9), rng, dev);
        using var seed = Tensor.Randn(new Shape(3, 6, 10, 9), rng, dev);
        long Step()
        {
            using (var tape = new Tape())
            {
                var y = Ops_.Silu(Ops_.Conv2d(x, w, b, 1, 1));
                tape.Backward(y, seed);
            }
            w.ZeroGrad(); b.ZeroGrad();
            return be.Allocator.DeviceAllocations;
        }
        Step();
        long after1 = Step();
        Assert.That(Step(), Is.EqualTo(after1), "steady state must not call cuMemAlloc");
    }

    [Test]
    public void Nvrtc_compile_errors_carry_the_log()
    {
        Gpu.RequireNvrtc();
        const string src = "extern \"C\" __global__ void k(float* y) { y[0] = undefined_identifier_42; }";
        var e = Assert.Throws<NvrtcException>(() =>
            Nvrtc.Compile("broken.cu", src, new Dictionary<string, string>(), ["--gpu-architecture=sm_90"], cubin: true))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("nvrtcCompileProgram").And.Contain("broken.cu").And.Contain("undefined_identifier_42"));
        Assert.That(e.Log, Does.Contain("undefined_identifier_42"));
    }

    [Test]
    public void Every_kernel_file_compiles_for_sm90()
    {
        Gpu.RequireNvrtc();
        var cache = new KernelCache(Path.Combine(Path.GetTempPath(), "ambient-kernels-" + Guid.NewGuid().ToString("N")));
        try
        {
            foreach (var f in KernelSources.Files.Where(f => f.EndsWith(".cu")))
            {
                var image = CudaModules.Image(cache, f, "sm_90");
                Assert.That(image, Is.Not.Empty, f);
            }
        }
        finally { if (Directory.Exists(cache.Directory)) Directory.Delete(cache.Directory, true); }
    }

    /// <summary>
    /// The kernels written without a GPU keep their accumulators in registers: local memory (spills) would mean ptxas
    /// ran out under __launch_bounds__, at a large cost in speed. Trivially true on the CUDA emulator (no ptxas).
    /// </summary>
    [TestCase("conv2d.cu", "conv2d_fwd_tf32")]
    [TestCase("conv2d.cu", "conv2d_dgrad_tf32")]
    [TestCase("conv2d.cu", "conv2d_wgrad_tf32")]
    [TestCase("attention.cu", "attention_forward")]
    [TestCase("attention.cu", "attention_backward_rows")]
    [TestCase("attention.cu", "attention_backward_columns")]
    public void New_kernels_do_not_spill(string file, string kernel)
    {
        var be = Gpu.Backend();
        var k = be.Modules.Get(file, kernel);
        TestContext.Out.WriteLine($"{k.Name}: {k.Registers} registers, {k.LocalBytes} bytes of local memory");
        Assert.That(k.LocalBytes, Is.Zero, $"{k.Name} spills ({k.Registers} registers)");
    }

    /// <summary>
    /// The fp32 weight gradient had 40 B of local memory on the H100 (2026-11-25) before the bias gradient moved into
    /// it (2026-12-03, its sums in shared memory so that the main loop carries no more registers): no more than that.
    /// </summary>
    [Test]
    public void The_weight_gradient_with_the_bias_sum_spills_no_more_than_before()
    {
        var k = Gpu.Backend().Modules.Get("conv2d.cu", "conv2d_wgrad");
        TestContext.Out.WriteLine($"{k.Name}: {k.Registers} registers, {k.LocalBytes} bytes of local memory");
        Assert.That(k.LocalBytes, Is.LessThanOrEqualTo(40), $"{k.Name} spills more than before ({k.Registers} registers)");
    }
}
