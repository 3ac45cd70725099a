using AmbientNative.Backends;
using AmbientNative.Backends.Cuda;
using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;

namespace AmbientNative.Tests.Gpu;

/// <summary>The parts of the CUDA runtime that need no GPU, so CI checks them.</summary>
public class CudaCpuSideTests
{
    [Test]
    public void A_missing_library_is_one_clear_sentence()
    {
        var h = NativeLoader.TryLoad(["libambient-missing.so.1", "libambient-missing.so"], ["/nonexistent"], null, out var reason);
        Assert.That(h, Is.EqualTo(IntPtr.Zero));
        Assert.That(reason, Does.Contain("libambient-missing.so.1").And.Contain("libambient-missing.so"));
        Assert.That(reason, Does.Not.Contain("\n"));
    }

    [Test]
    public void Without_a_device_Cuda_explains_and_Auto_falls_back_to_cpu()
    {
        if (CudaDriver.UnavailableReason == null && Nvrtc.UnavailableReason == null) Assert.Ignore("a CUDA device is present");
        var e = Assert.Throws<CudaUnavailableException>(() => Device.Cuda(0))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("CUDA driver").Or.Contain("NVRTC"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
        Assert.That(Device.Auto, Is.SameAs(Device.Cpu));
        Assert.That(CudaDevices.AutoReason, Does.StartWith("using the CPU: ").And.Contain(e.Message));
    }

    [Test]
    public void Kernel_sources_are_embedded_with_their_header()
    {
        Assert.That(KernelSources.Files, Does.Contain("common.cuh").And.Contain("conv2d.cu").And.Contain("elementwise.cu"));
        var conv = KernelSources.Read("conv2d.cu");
        Assert.That(conv, Does.Contain("#include \"common.cuh\""));
        foreach (var k in new[] { "conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad", "conv2d_wgrad_reduce" })
            Assert.That(conv, Does.Contain($"void __launch_bounds__(NT, 2) {k}(").Or.Contain($"void {k}(").Or.Contain($"void __launch_bounds__(256) {k}("), k);
        Assert.That(KernelSources.Headers().Keys, Is.EquivalentTo(new[] { "common.cuh" }));
        Assert.Throws<FileNotFoundException>(() => KernelSources.Read("nope.cu"));
    }

    [Test]
    public void Cache_key_changes_with_everything_that_changes_the_binary()
    {
        var h = new Dictionary<string, string> { ["common.cuh"] = "#define A 1" };
        string[] o = ["-std=c++17"];
        var k = KernelCache.Key("src", h, o, "sm_90", "13.0");
        Assert.That(KernelCache.Key("src", new Dictionary<string, string>(h), ["-std=c++17"], "sm_90", "13.0"), Is.EqualTo(k), "stable");
        Assert.That(KernelCache.Key("src2", h, o, "sm_90", "13.0"), Is.Not.EqualTo(k), "source");
        Assert.That(KernelCache.Key("src", new Dictionary<string, string> { ["common.cuh"] = "#define A 2" }, o, "sm_90", "13.0"), Is.Not.EqualTo(k), "header");
        Assert.That(KernelCache.Key("src", h, ["-std=c++20"], "sm_90", "13.0"), Is.Not.EqualTo(k), "options");
        Assert.That(KernelCache.Key("src", h, o, "sm_80", "13.0"), Is.Not.EqualTo(k), "arch");
        Assert.That(KernelCache.Key("src", h, o, "sm_90", "12.9"), Is.Not.EqualTo(k), "nvrtc version");
    }

    [Test]
    public void Disk_cache_serves_a_second_process_without_compiling()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ambient-cache-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            byte[] image = [1, 2, 3, 4];
            var first = new KernelCache(dir);
            Assert.That(first.GetOrCompile("k", "abcd".PadRight(64, '0'), () => image), Is.EqualTo(image));
            Assert.That(first.Compilations, Is.EqualTo(1));
            Assert.That(first.GetOrCompile("k", "abcd".PadRight(64, '0'), () => throw new InvalidOperationException()), Is.EqualTo(image));
            var second = new KernelCache(dir); // a fresh process sees only the disk
            Assert.That(second.GetOrCompile("k", "abcd".PadRight(64, '0'), () => throw new InvalidOperationException("recompiled")), Is.EqualTo(image));
            Assert.That(second.Compilations, Is.EqualTo(0));
            Assert.That(Directory.GetFiles(dir).Where(f => f.EndsWith(".tmp")), Is.Empty, "no temporary file left behind");
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Test]
    public void Default_cache_folder_follows_xdg()
    {
        Assert.That(KernelCache.DefaultDirectory(), Does.EndWith(Path.Combine("ambientnative", "kernels")).Or.EqualTo(Environment.GetEnvironmentVariable("AMBIENT_KERNEL_CACHE")));
    }

    [TestCase(1, 512)]
    [TestCase(512, 512)]
    [TestCase(513, 1024)]
    [TestCase(1 << 20, 1 << 20)]
    [TestCase((1 << 20) + 1, (1 << 20) + (1 << 17))]
    [TestCase(3_000_000, 3_145_728)]
    public void Allocator_buckets_waste_under_512_bytes_or_an_eighth(long bytes, long bucket)
    {
        long b = CudaAllocator.Bucket(bytes);
        Assert.That(b, Is.EqualTo(bucket));
        Assert.That(b - bytes < 512 || b - bytes <= bytes / 8, $"{bytes} → {b}");
    }

    [Test]
    public void Weight_grad_splits_cover_the_reduction_with_no_empty_split()
    {
        foreach (var g in CudaConvTests.Geometries.Append(new Conv2dGeometry(256, 128, 32, 32, 128, 3, 1, 1)))
        foreach (int sms in new[] { 1, 132 })
        {
            var (splits, per) = CudaBackend.WeightGradSplits(g, sms);
            long steps = (long)g.N * ((g.OutH * g.OutW + 7) / 8);
            Assert.That((long)splits * per, Is.GreaterThanOrEqualTo(steps), $"{g}: {splits}×{per} < {steps}");
            Assert.That((long)(splits - 1) * per, Is.LessThan(steps), $"{g}: last split empty");
            long tiles = (long)((g.Cin * g.K * g.K + 127) / 128) * ((g.Cout + 127) / 128);
            if (tiles <= 2 * sms) Assert.That(splits * tiles, Is.LessThanOrEqualTo(2 * sms), $"{g}: more blocks than one wave");
        }
    }
}
