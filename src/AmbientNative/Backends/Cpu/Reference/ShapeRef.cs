using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Pure data movement: permuting axes, and copying a block into or out of a larger tensor along one axis
/// (concatenation, slicing). Each is its own backward up to the inverse map, so no derivative code is needed.
/// </summary>
public static class ShapeRef
{
    /// <summary>y = x with its axes permuted: y's axis k is x's axis perm[k]. Backward: Permute(gy, Inverse(perm)).</summary>
    public static void Permute<T>(ReadOnlySpan<T> x, Shape xShape, ReadOnlySpan<int> perm, Span<T> y)
    {
        var xStrides = xShape.Strides();
        for (int o = 0; o < y.Length; o++)
        {
            int rem = o, j = 0;
            for (int k = perm.Length - 1; k >= 0; k--)
            {
                int d = xShape[perm[k]];
                j += rem % d * xStrides[perm[k]];
                rem /= d;
            }
            y[o] = x[j];
        }
    }

    public static int[] Inverse(ReadOnlySpan<int> perm)
    {
        var inv = new int[perm.Length];
        for (int k = 0; k < perm.Length; k++) inv[perm[k]] = k;
        return inv;
    }

    /// <summary>whole[o, start + k, i] = part[o, k, i]: part (geometry <paramref name="pg"/>) into whole [Outer, wholeSize, Inner].</summary>
    public static void Insert<T>(ReadOnlySpan<T> part, AxisGeometry pg, Span<T> whole, int wholeSize, int start)
    {
        int block = pg.Size * pg.Inner;
        for (int o = 0; o < pg.Outer; o++)
            part.Slice(o * block, block).CopyTo(whole.Slice((o * wholeSize + start) * pg.Inner, block));
    }

    /// <summary>whole[o, start + k, i] += part[o, k, i]: <see cref="Insert{T}"/> adding instead of overwriting.</summary>
    public static void AddInto<T>(ReadOnlySpan<T> part, AxisGeometry pg, Span<T> whole, int wholeSize, int start)
        where T : System.Numerics.IAdditionOperators<T, T, T>
    {
        int block = pg.Size * pg.Inner;
        for (int o = 0; o < pg.Outer; o++)
        {
            var src = part.Slice(o * block, block);
            var dst = whole.Slice((o * wholeSize + start) * pg.Inner, block);
            for (int i = 0; i < block; i++) dst[i] += src[i];
        }
    }

    /// <summary>part[o, k, i] = whole[o, start + k, i]: the inverse of <see cref="Insert{T}"/>.</summary>
    public static void Extract<T>(ReadOnlySpan<T> whole, int wholeSize, int start, Span<T> part, AxisGeometry pg)
    {
        int block = pg.Size * pg.Inner;
        for (int o = 0; o < pg.Outer; o++)
            whole.Slice((o * wholeSize + start) * pg.Inner, block).CopyTo(part.Slice(o * block, block));
    }
}
