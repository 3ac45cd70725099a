using System.Collections.Concurrent;

namespace AmbientNative.Tensors;

/// <summary>
/// Caching allocator for host buffers: exact-size free lists, so a training step that allocates the same
/// shapes every iteration reuses its arrays instead of producing garbage.
/// </summary>
public static class CpuAllocator
{
    private static readonly ConcurrentDictionary<int, ConcurrentBag<float[]>> Free = new();
    private static long _cachedBytes;

    /// <summary>Upper bound on memory kept in the free lists; beyond it returned arrays go to the GC.</summary>
    public static long CacheLimitBytes { get; set; } = 4L << 30;
    public static long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <summary>Arrays come back with stale contents: callers must write before reading.</summary>
    public static float[] Rent(int length)
    {
        if (length == 0) return [];
        if (Free.TryGetValue(length, out var bag) && bag.TryTake(out var a))
        {
            Interlocked.Add(ref _cachedBytes, -4L * length);
            return a;
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    public static void Return(float[] array)
    {
        if (array.Length == 0) return;
        if (CachedBytes + 4L * array.Length > CacheLimitBytes) return;
        Free.GetOrAdd(array.Length, _ => new ConcurrentBag<float[]>()).Add(array);
        Interlocked.Add(ref _cachedBytes, 4L * array.Length);
    }

    /// <summary>Drops every cached array.</summary>
    public static void Trim()
    {
        Free.Clear();
        Interlocked.Exchange(ref _cachedBytes, 0);
    }
}
