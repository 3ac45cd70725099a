using AmbientNative.Backends.Cuda.Native;

namespace AmbientNative.Backends.Cuda;

/// <summary>
/// Caching device allocator. cuMemAlloc/cuMemFree are slow and cuMemFree synchronises the device, so freed
/// blocks go to size-bucketed free lists and are handed out again; a training step that allocates the same
/// shapes every iteration calls the driver only during its first step. All our work runs on one stream, so a
/// block freed by the host may be reused at once: the next kernel using it is queued after the last one that
/// touched it. Buckets: multiples of 512 bytes up to 1 MiB, then 8 steps per power of two (≤ 12.5% waste).
/// AMBIENT_CUDA_ALLOCATOR=exact makes every block exactly the size asked for (whole floats), still cached by size: a
/// kernel that overruns its tensor then leaves the block, where compute-sanitizer's memcheck (or the CUDA emulator's
/// guard bands) sees it, instead of writing into the bucket's slack.
/// </summary>
public sealed class CudaAllocator(CudaContext context)
{
    /// <summary>True when AMBIENT_CUDA_ALLOCATOR=exact: blocks of exactly the requested size, no buckets.</summary>
    public static bool ExactSizes { get; } = Environment.GetEnvironmentVariable("AMBIENT_CUDA_ALLOCATOR") == "exact";

    private readonly Dictionary<long, Stack<ulong>> _free = new();
    private readonly object _gate = new();

    /// <summary>Number of cuMemAlloc calls made so far: constant in a steady state.</summary>
    public long DeviceAllocations { get; private set; }
    public long BytesInUse { get; private set; }
    public long BytesCached { get; private set; }

    public static long Bucket(long bytes)
    {
        if (bytes <= 0) return 512;
        if (bytes <= 1L << 20) return (bytes + 511) & ~511L;
        int log2 = 63 - (int)long.LeadingZeroCount(bytes - 1); // bytes ∈ (2^log2, 2^(log2+1)]
        long step = (1L << log2) / 8;
        return (bytes + step - 1) / step * step;
    }

    /// <summary>A device block of at least <paramref name="bytes"/>; its contents are stale.</summary>
    public ulong Rent(long bytes, out long bucket)
    {
        bucket = ExactSizes ? Math.Max(4, (bytes + 3) & ~3L) : Bucket(bytes);
        lock (_gate)
        {
            BytesInUse += bucket;
            if (_free.TryGetValue(bucket, out var stack) && stack.Count > 0)
            {
                BytesCached -= bucket;
                return stack.Pop();
            }
        }
        context.MakeCurrent();
        int r = CudaDriver.MemAllocRaw(out var ptr, bucket);
        if (r == 2 /* CUDA_ERROR_OUT_OF_MEMORY */)
        {
            EmptyCache();
            r = CudaDriver.MemAllocRaw(out ptr, bucket);
        }
        if (r != 0)
        {
            lock (_gate) BytesInUse -= bucket;
            CudaDriver.Check(r, "cuMemAlloc", $"{bucket} bytes; {BytesInUse} in use, {BytesCached} cached");
        }
        lock (_gate) DeviceAllocations++;
        return ptr;
    }

    public void Return(ulong ptr, long bucket)
    {
        lock (_gate)
        {
            BytesInUse -= bucket;
            BytesCached += bucket;
            if (!_free.TryGetValue(bucket, out var stack)) _free[bucket] = stack = new Stack<ulong>();
            stack.Push(ptr);
        }
    }

    /// <summary>Gives every cached block back to the driver (after the queued work that may still use them).</summary>
    public void EmptyCache()
    {
        List<ulong> blocks;
        lock (_gate)
        {
            blocks = _free.Values.SelectMany(s => s).ToList();
            _free.Clear();
            BytesCached = 0;
        }
        if (blocks.Count == 0) return;
        context.Synchronize();
        foreach (var p in blocks) CudaDriver.MemFree(p);
    }
}
