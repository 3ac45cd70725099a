using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// Per-thread scratch for the fast CPU kernels: grow-only, pinned (pinned object heap) and 64-byte aligned, so
/// a kernel can hold a raw pointer without <c>fixed</c> and the steady state allocates nothing. Each slot is
/// one independent buffer; a caller may hold several slots at once but must not hold the same slot twice.
/// Contents are stale: write before reading.
/// </summary>
internal static unsafe class Scratch
{
    public const int GemmA = 0, GemmB = 1, Col = 2, PackedWeight = 3;
    private const int Slots = 4;

    [ThreadStatic] private static float[]?[]? _buffers;

    public static float* Get(int slot, long length)
    {
        var buffers = _buffers ??= new float[]?[Slots];
        var a = buffers[slot];
        if (a == null || a.Length < length + 16)
        {
            // Round up so that slowly growing requests do not reallocate every time.
            long size = Math.Max(length + 16, (long)((a?.Length ?? 0) * 1.5));
            if (size > Array.MaxLength) throw new OutOfMemoryException($"Scratch request of {length} floats is too large.");
            a = buffers[slot] = GC.AllocateUninitializedArray<float>((int)size, pinned: true);
        }
        var p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));
        return (float*)((p + 63) & ~(nint)63);
    }
}
