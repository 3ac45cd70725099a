using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// Scratch memory of one worker of the fast CPU kernels: a few grow-only buffers, pinned (pinned object heap)
/// and 64-byte aligned, so kernels hold raw pointers without <c>fixed</c>. Workspaces are rented per worker, not
/// per thread: the thread pool may run a parallel loop on any of its threads, and thread-local buffers would
/// then be allocated once per pool thread that ever shows up. Renting bounds them by the number of concurrent
/// workers, and the steady state allocates nothing. Contents are stale: write before reading.
/// </summary>
internal sealed unsafe class Workspace
{
    /// <summary>Slots: GEMM panels of A and B, a column-matrix piece (or padded image band), a convolution's
    /// packed weights, an offset table.</summary>
    public const int GemmA = 0, GemmB = 1, Col = 2, PackedWeight = 3, Table = 4;

    private readonly float[]?[] _buffers = new float[]?[5];
    private static readonly Stack<Workspace> Pool = new();

    public static Workspace Rent()
    {
        lock (Pool) return Pool.Count > 0 ? Pool.Pop() : new Workspace();
    }

    public static void Return(Workspace w)
    {
        lock (Pool) Pool.Push(w);
    }

    /// <summary>A buffer of at least <paramref name="length"/> floats. A slot's pointer stays valid until the
    /// next Get of the same slot, so one holder must not ask twice for the same slot.</summary>
    public float* Get(int slot, long length)
    {
        var a = _buffers[slot];
        if (a == null || a.Length < length + 16)
        {
            if (length + 16 > Array.MaxLength) throw new OutOfMemoryException($"Workspace request of {length} floats is too large.");
            a = _buffers[slot] = GC.AllocateUninitializedArray<float>((int)(length + 16), pinned: true);
        }
        var p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));
        return (float*)((p + 63) & ~(nint)63);
    }

    /// <summary>
    /// Runs body(item, workspace) for every item in [0, items): on min(items, cores) workers when
    /// <paramref name="parallel"/>, each with its own workspace, claiming items one at a time from a shared
    /// counter (so uneven items still balance); otherwise inline on the calling thread.
    /// </summary>
    public static void For(int items, bool parallel, Action<int, Workspace> body)
    {
        int workers = parallel ? Math.Min(items, Environment.ProcessorCount) : 1;
        if (workers <= 1)
        {
            var w = Rent();
            try { for (int i = 0; i < items; i++) body(i, w); }
            finally { Return(w); }
            return;
        }
        int next = -1;
        Parallel.For(0, workers, _ =>
        {
            var w = Rent();
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < items) body(i, w);
            }
            finally { Return(w); }
        });
    }
}
