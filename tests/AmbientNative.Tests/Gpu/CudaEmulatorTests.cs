using AmbientNative.Backends.Cuda;
using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// The emulator's own checks, on kernels written to break them: they run only on the emulator (in the child process
/// of <see cref="EmulatedGpuTests"/>). On a GPU a divergent barrier may hang, so they are ignored there.
/// </summary>
[Category("Gpu")]
public unsafe class CudaEmulatorTests
{
    private const string Source = """
        struct OutArgs { float* y; int n; };
        extern "C" __global__ void divergent_barrier(OutArgs a) { if (threadIdx.x == 5) return; __syncthreads(); a.y[threadIdx.x] = 1.0f; }
        extern "C" __global__ void partial_warp_shuffle(OutArgs a) { a.y[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1); }
        extern "C" __global__ void __launch_bounds__(64) bounded(OutArgs a) { a.y[threadIdx.x] = 1.0f; }
        extern "C" __global__ void half_written_shared(OutArgs a)
        {
            __shared__ float s[64];
            if (threadIdx.x < 32) s[threadIdx.x] = 1.0f;
            __syncthreads();
            a.y[blockIdx.x * 64 + threadIdx.x] = s[threadIdx.x];
        }
        // Each thread reads what the thread at the mirror position of the other warp wrote; with the barrier
        // (a.n != 0) that is defined, without it a GPU may read either value.
        extern "C" __global__ void exchange(OutArgs a)
        {
            __shared__ float s[64];
            s[threadIdx.x] = (float)threadIdx.x;
            if (a.n) __syncthreads();
            a.y[blockIdx.x * 64 + threadIdx.x] = s[63 - threadIdx.x];
        }
        extern "C" __global__ void indices(OutArgs a)
        {
            const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
            const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
            a.y[block * (blockDim.x * blockDim.y * blockDim.z) + thread] =
                (float)(blockIdx.x + 4 * blockIdx.y + 16 * blockIdx.z + 64 * threadIdx.x + 256 * threadIdx.y + 1024 * threadIdx.z);
        }
        extern "C" __global__ void write_past_the_end(OutArgs a) { if (threadIdx.x == 0) a.y[a.n] = 1.0f; }
        extern "C" __global__ void write_before_the_start(OutArgs a) { if (threadIdx.x == 0) a.y[-1] = 1.0f; }
        extern "C" __global__ void read_past_the_end(OutArgs a) { if (threadIdx.x == 0) a.y[0] = a.y[a.n]; }
        // ldmatrix reads shared memory only, at 16-byte aligned rows: a.n = 0 points it at global memory, 1 misaligns.
        extern "C" __global__ void ldmatrix_misuse(OutArgs a)
        {
            __shared__ __align__(16) float s[132];
            for (int i = threadIdx.x; i < 132; i += 32) s[i] = 1.0f;
            __syncthreads();
            unsigned r[4];
            an_ldmatrix_x4(r, a.n == 0 ? a.y + 4 * threadIdx.x : s + 4 * threadIdx.x + 1);
            a.y[threadIdx.x] = __uint_as_float(r[0]);
        }
        extern "C" __global__ void butterfly(OutArgs a)
        {
            float v = (float)threadIdx.x;
            for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
            a.y[threadIdx.x] = v;
        }
        """;

    private struct OutArgs { public ulong Y; public int N; }

    private static CudaBackend _be = null!;
    private static IntPtr _module;

    [OneTimeSetUp]
    public void Load()
    {
        _be = Gpu.Backend();
        if (!CudaEmulator.IsActive(_be)) Assert.Ignore("these check the CUDA emulator; the device is a GPU");
        var image = Nvrtc.Compile("emulator_checks.cu", Source, new Dictionary<string, string>(), CudaModules.Options(_be.Context.Info.Arch), cubin: true).Image;
        _be.Context.MakeCurrent();
        _module = CudaDriver.ModuleLoadData(image, "emulator_checks.cu");
    }

    private static void Launch(string kernel, (uint, uint, uint) grid, (uint, uint, uint) block, Tensor y, int n = 0)
    {
        var f = CudaDriver.ModuleGetFunction(_module, kernel);
        var args = new OutArgs { Y = _be.P(y), N = n };
        void* p = &args;
        CudaDriver.LaunchKernel(f, grid, block, 0, _be.Context.Stream, &p, kernel);
    }

    [Test]
    public void A_barrier_some_threads_skip_fails_the_launch()
    {
        using var y = Gpu.Poisoned(new Shape(64), _be.Device);
        var e = Assert.Throws<CudaException>(() => Launch("divergent_barrier", (1, 1, 1), (64, 1, 1), y))!;
        Assert.That(e.Message, Does.Contain("CUDA_ERROR_LAUNCH_FAILED").And.Contain("divergent barrier").And.Contain("divergent_barrier"));
    }

    [Test]
    public void A_full_mask_shuffle_in_a_partial_warp_fails_the_launch()
    {
        using var y = Gpu.Poisoned(new Shape(48), _be.Device);
        Launch("partial_warp_shuffle", (1, 1, 1), (32, 1, 1), y); // one whole warp: fine
        var e = Assert.Throws<CudaException>(() => Launch("partial_warp_shuffle", (1, 1, 1), (48, 1, 1), y))!;
        Assert.That(e.Message, Does.Contain("warp of 16 threads"));
    }

    [Test]
    public void Ldmatrix_from_global_memory_or_a_misaligned_row_fails_the_launch()
    {
        using var y = Gpu.Poisoned(new Shape(128), _be.Device);
        var global = Assert.Throws<CudaException>(() => Launch("ldmatrix_misuse", (1, 1, 1), (32, 1, 1), y, n: 0))!;
        Assert.That(global.Message, Does.Contain("ldmatrix: a row address outside the kernel's __shared__ variables"));
        var misaligned = Assert.Throws<CudaException>(() => Launch("ldmatrix_misuse", (1, 1, 1), (32, 1, 1), y, n: 1))!;
        Assert.That(misaligned.Message, Does.Contain("ldmatrix: a row address not aligned to 16 bytes"));
    }

    [Test]
    public void A_block_larger_than_its_launch_bounds_is_refused()
    {
        using var y = Gpu.Poisoned(new Shape(128), _be.Device);
        Launch("bounded", (1, 1, 1), (64, 1, 1), y);
        var e = Assert.Throws<CudaException>(() => Launch("bounded", (1, 1, 1), (128, 1, 1), y))!;
        Assert.That(e.Message, Does.Contain("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"));
    }

    [Test]
    public void Shared_memory_no_thread_wrote_reads_as_nan()
    {
        using var y = Gpu.Poisoned(new Shape(128), _be.Device);
        Launch("half_written_shared", (2, 1, 1), (64, 1, 1), y);
        var v = y.ToArray();
        for (int b = 0; b < 2; b++)
        {
            Assert.That(v.Skip(64 * b).Take(32), Is.All.EqualTo(1f));
            Assert.That(v.Skip(64 * b + 32).Take(32), Is.All.NaN, "block " + b + " read shared memory left from the block before it, or zero");
        }
    }

    [Test]
    public void A_missing_barrier_between_warps_shows_in_the_result()
    {
        using var y = Gpu.Poisoned(new Shape(128), _be.Device);
        var expected = Enumerable.Range(0, 128).Select(i => (float)(63 - i % 64)).ToArray();
        Launch("exchange", (2, 1, 1), (64, 1, 1), y, n: 1);
        Assert.That(y.ToArray(), Is.EqualTo(expected), "with the barrier");
        Launch("exchange", (2, 1, 1), (64, 1, 1), y, n: 0);
        var racy = y.ToArray();
        // Block 0 runs warp 0 first, block 1 warp 1 first: each block has one warp that read before the other wrote.
        for (int b = 0; b < 2; b++)
            Assert.That(racy.Skip(64 * b).Take(64).Count(float.IsNaN), Is.EqualTo(32), $"block {b}: {string.Join(' ', racy.Skip(64 * b).Take(64))}");
    }

    [Test]
    public void Every_thread_of_a_3d_launch_sees_its_own_indices()
    {
        (uint X, uint Y, uint Z) grid = (3, 2, 2), block = (4, 3, 2);
        int threads = 24, n = 12 * threads;
        using var y = Gpu.Poisoned(new Shape(n), _be.Device);
        Launch("indices", grid, block, y);
        var v = y.ToArray();
        for (int bz = 0; bz < 2; bz++) for (int by = 0; by < 2; by++) for (int bx = 0; bx < 3; bx++)
        for (int tz = 0; tz < 2; tz++) for (int ty = 0; ty < 3; ty++) for (int tx = 0; tx < 4; tx++)
        {
            int i = ((bz * 2 + by) * 3 + bx) * threads + (tz * 3 + ty) * 4 + tx;
            Assert.That(v[i], Is.EqualTo(bx + 4 * by + 16 * bz + 64 * tx + 256 * ty + 1024 * tz), $"element {i}");
        }
    }

    [Test]
    public void Writes_outside_an_allocation_fail_the_launch_and_reads_there_see_nan()
    {
        // Straight from the driver (not the caching allocator, whose blocks may be larger than asked for).
        const int n = 10;
        Assert.That(CudaDriver.MemAllocRaw(out var p, 4 * n), Is.Zero);
        try
        {
            void Run(string kernel)
            {
                var f = CudaDriver.ModuleGetFunction(_module, kernel);
                var args = new OutArgs { Y = p, N = n };
                void* a = &args;
                CudaDriver.LaunchKernel(f, (1, 1, 1), (32, 1, 1), 0, _be.Context.Stream, &a, kernel);
            }
            var past = Assert.Throws<CudaException>(() => Run("write_past_the_end"))!;
            Assert.That(past.Message, Does.Contain("write_past_the_end: wrote past the end of a 40-byte allocation"));
            var before = Assert.Throws<CudaException>(() => Run("write_before_the_start"))!;
            Assert.That(before.Message, Does.Contain("wrote before the start of a 40-byte allocation"));
            Run("read_past_the_end");
            var first = new float[1];
            fixed (float* h = first) CudaDriver.MemcpyDtoHAsync(h, p, 4, _be.Context.Stream);
            Assert.That(first[0], Is.NaN, "the guard band reads as NaN");
        }
        finally { CudaDriver.MemFree(p); }
    }

    [Test]
    public void A_butterfly_shuffle_leaves_the_warp_sum_in_every_lane()
    {
        using var y = Gpu.Poisoned(new Shape(64), _be.Device);
        Launch("butterfly", (1, 1, 1), (64, 1, 1), y);
        var v = y.ToArray();
        Assert.That(v.Take(32), Is.All.EqualTo(496f));                // 0 + 1 + … + 31
        Assert.That(v.Skip(32), Is.All.EqualTo(1520f));               // 32 + … + 63
    }
}
