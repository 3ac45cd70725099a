using ILGPU;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Reductions over one group of an explicitly grouped kernel, by a tree in shared memory: every thread writes its
/// value, then halves the active range until slot 0 holds the result. The order of additions depends only on the
/// group size, so results are reproducible run to run. Every thread of the group must call these (they contain
/// barriers), with a scratch view of at least <see cref="Width"/> elements allocated by the kernel; the scratch may
/// be reused by the next call (each call ends with a barrier after everyone has read the result).
/// </summary>
/// <remarks>Float and double sums are written out separately: ILGPU 1.5 compiles concrete types, not generic math.</remarks>
internal static class GroupReduce
{
    /// <summary>Scratch length: the largest group size a grouped kernel launches with (IlgpuRuntime.GroupSize).</summary>
    public const int Width = 128;

    public static float Sum(ArrayView<float> scratch, float v)
    {
        int t = Group.IdxX;
        scratch[t] = v;
        Group.Barrier();
        for (int half = Group.DimX >> 1; half > 0; half >>= 1)
        {
            if (t < half) scratch[t] += scratch[t + half];
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier();
        return total;
    }

    public static double Sum(ArrayView<double> scratch, double v)
    {
        int t = Group.IdxX;
        scratch[t] = v;
        Group.Barrier();
        for (int half = Group.DimX >> 1; half > 0; half >>= 1)
        {
            if (t < half) scratch[t] += scratch[t + half];
            Group.Barrier();
        }
        double total = scratch[0];
        Group.Barrier();
        return total;
    }

    public static float Max(ArrayView<float> scratch, float v)
    {
        int t = Group.IdxX;
        scratch[t] = v;
        Group.Barrier();
        for (int half = Group.DimX >> 1; half > 0; half >>= 1)
        {
            if (t < half) scratch[t] = MathF.Max(scratch[t], scratch[t + half]);
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier();
        return total;
    }

    /// <summary>Two sums in one tree (same barriers): <paramref name="a"/> in scratch[0, Width), b in [Width, 2·Width).</summary>
    public static Pair Sum2(ArrayView<float> scratch, float a, float b)
    {
        int t = Group.IdxX;
        scratch[t] = a;
        scratch[Width + t] = b;
        Group.Barrier();
        for (int half = Group.DimX >> 1; half > 0; half >>= 1)
        {
            if (t < half)
            {
                scratch[t] += scratch[t + half];
                scratch[Width + t] += scratch[Width + t + half];
            }
            Group.Barrier();
        }
        var total = new Pair(scratch[0], scratch[Width]);
        Group.Barrier();
        return total;
    }

    internal readonly record struct Pair(float A, float B);
}
