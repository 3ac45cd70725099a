using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

/// <summary>
/// The CUDA backend: tensors in device memory from a caching allocator, every op queued on one stream of one
/// context, kernels from kernels/*.cu compiled by NVRTC. Partial: op families live in CudaBackend.&lt;Family&gt;.cs.
/// Set AMBIENT_CUDA_SYNC=1 to synchronise after every launch, so an asynchronous fault names its kernel.
/// </summary>
public sealed partial class CudaBackend : IBackend
{
    private static readonly bool SyncEachLaunch = Environment.GetEnvironmentVariable("AMBIENT_CUDA_SYNC") == "1";

    internal CudaBackend(CudaContext context, Device device, KernelCache cache)
    {
        Context = context;
        Device = device;
        Allocator = new CudaAllocator(context);
        Modules = new CudaModules(context, cache);
    }

    public string Name => "cuda";
    public CudaContext Context { get; }
    public Device Device { get; }
    public CudaAllocator Allocator { get; }
    public CudaModules Modules { get; }

    /// <summary>Kernel launches so far (small models are launch-bound: this is the count a CUDA graph would replay).</summary>
    public long Launches { get; private set; }

    /// <summary>
    /// When set, every launch is bracketed by stream syncs and its host-measured time is added here by kernel name:
    /// a coarse per-kernel profile for hosts without Nsight Systems (each entry includes ~10 µs of sync overhead).
    /// </summary>
    public Dictionary<string, (double Ms, int Calls)>? KernelTimes { get; set; }

    public Storage Allocate(int length) => new CudaStorage(this, length);

    private CudaStorage? _ticket;

    /// <summary>
    /// One device word, zero between launches: the ticket the blocks of a loss kernel draw so that the last one to
    /// finish sums the batch (an_last_block_mean in common.cuh, which resets it). Kernels on our one stream never
    /// overlap, so one word serves them all.
    /// </summary>
    internal ulong Ticket
    {
        get
        {
            if (_ticket == null)
            {
                _ticket = new CudaStorage(this, 1);
                Context.MakeCurrent();
                CudaDriver.MemsetD32Async(_ticket.Pointer, 0, 1, Context.Stream);
            }
            return _ticket.Pointer;
        }
    }

    public void Fill(Tensor y, float value)
    {
        Context.MakeCurrent();
        CudaDriver.MemsetD32Async(P(y), BitConverter.SingleToUInt32Bits(value), y.Numel, Context.Stream);
    }

    public void Copy(Tensor x, Tensor y)
    {
        SameSize("Copy", x, y);
        Context.MakeCurrent();
        CudaDriver.MemcpyDtoDAsync(P(y), P(x), 4L * y.Numel, Context.Stream);
    }

    public void AddInPlace(Tensor y, Tensor x, float alpha)
    {
        SameSize("AddInPlace", x, y);
        var a = new AxpyArgs { Y = P(y), X = P(x), N = y.Numel, Alpha = alpha };
        Launch("elementwise.cu", "axpy", ElementwiseGrid(y.Numel), 256, a);
    }

    public void Synchronize() => Context.Synchronize();

    // ---- helpers ------------------------------------------------------------------------------------------

    /// <summary>Device address of a tensor of this backend.</summary>
    internal ulong P(Tensor t) => t.Storage is CudaStorage c && ReferenceEquals(c.Device, Device)
        ? c.Pointer
        : throw new InvalidOperationException($"The CUDA backend of {Device} got a tensor {t.Shape} on {t.Device}.");

    internal ulong POpt(Tensor? t) => t == null ? 0 : P(t);

    private static void SameSize(string op, Tensor x, Tensor y)
    {
        if (x.Numel != y.Numel) throw new ArgumentException($"{op}: tensors {x.Shape} and {y.Shape} differ in size.");
    }

    /// <summary>Enough blocks of 256 for a grid-stride loop to keep every SM busy, no more than the work needs.</summary>
    internal uint ElementwiseGrid(long n) => (uint)Math.Max(1, Math.Min((n + 255) / 256, Context.Info.SmCount * 8L));

    /// <summary>Launches <paramref name="kernel"/> with one by-value argument block, on our stream.</summary>
    internal unsafe void Launch<TArgs>(string file, string kernel, (uint X, uint Y, uint Z) grid, uint block, TArgs args)
        where TArgs : unmanaged
    {
        var k = Modules.Get(file, kernel);
        Context.MakeCurrent();
        void* p = &args;
        long t0 = 0;
        if (KernelTimes != null)
        {
            CudaDriver.StreamSynchronize(Context.Stream, $"before {k.Name}");
            t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        }
        CudaDriver.LaunchKernel(k.Handle, grid, (block, 1, 1), 0, Context.Stream, &p, k.Name);
        Launches++;
        if (SyncEachLaunch || KernelTimes != null) CudaDriver.StreamSynchronize(Context.Stream, $"after {k.Name}");
        if (KernelTimes != null)
        {
            KernelTimes.TryGetValue(k.Name, out var t);
            KernelTimes[k.Name] = (t.Ms + System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds, t.Calls + 1);
        }
    }

    internal void Launch<TArgs>(string file, string kernel, uint grid, uint block, TArgs args) where TArgs : unmanaged =>
        Launch(file, kernel, (grid, 1u, 1u), block, args);

    /// <summary>
    /// Device scratch memory from the caching allocator, given back on Dispose. Giving it back while the kernels
    /// that use it are still queued is safe: whoever gets the block next is queued after them on the same stream.
    /// </summary>
    internal readonly ref struct Scratch
    {
        private readonly CudaAllocator _allocator;
        private readonly long _bucket;

        public Scratch(CudaAllocator allocator, long bytes)
        {
            _allocator = allocator;
            Pointer = allocator.Rent(bytes, out _bucket);
        }

        public ulong Pointer { get; }

        public void Dispose() => _allocator.Return(Pointer, _bucket);
    }

    /// <summary>Copies <paramref name="destination"/>.Length values from device address <paramref name="source"/>, after the queued work.</summary>
    internal unsafe void Download<T>(ulong source, Span<T> destination) where T : unmanaged
    {
        Context.MakeCurrent();
        fixed (T* p = destination)
        {
            CudaDriver.MemcpyDtoHAsync(p, source, (long)sizeof(T) * destination.Length, Context.Stream);
            CudaDriver.StreamSynchronize(Context.Stream);
        }
    }
}
