using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument blocks of kernels/shape.cu: field order and types must match its structs.
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PermuteArgs
{
    public ulong X, Y;
    public long N;
    public int Rank;
    public fixed int Dims[BinaryArgs.MaxRank];
    public fixed int Xs[BinaryArgs.MaxRank];
}

[StructLayout(LayoutKind.Sequential)]
internal struct BlockCopyArgs { public ulong Src, Dst; public long N; public int Block, WholeBlock, Offset; }

public sealed partial class CudaBackend
{
    public unsafe void Permute(Tensor x, Tensor y, int[] perm)
    {
        // y's dimensions with x's stride along each; size-1 dimensions dropped, and neighbours merged where x
        // holds them in the same order without a gap (a permutation of [B, C, HW] to [B, HW, C] stays rank 3).
        var xs = x.Shape.Strides();
        var dims = new List<int>();
        var strides = new List<int>();
        for (int k = 0; k < perm.Length; k++)
        {
            int d = x.Shape[perm[k]], s = xs[perm[k]];
            if (d == 1) continue;
            if (dims.Count > 0 && strides[^1] == s * d) { dims[^1] *= d; strides[^1] = s; }
            else { dims.Add(d); strides.Add(s); }
        }
        if (dims.Count == 0) { dims.Add(1); strides.Add(1); }
        if (dims.Count > BinaryArgs.MaxRank)
            throw new NotSupportedException($"permute on CUDA: {x.Shape} by [{string.Join(", ", perm)}] needs {dims.Count} dimensions; the kernel takes {BinaryArgs.MaxRank}.");
        var a = new PermuteArgs { X = P(x), Y = P(y), N = y.Numel, Rank = dims.Count };
        for (int k = 0; k < dims.Count; k++) { a.Dims[k] = dims[k]; a.Xs[k] = strides[k]; }
        Launch("shape.cu", "permute", ElementwiseGrid(y.Numel), 256, a);
    }

    public void Concat(Tensor[] parts, Tensor y, int axis)
    {
        int start = 0;
        foreach (var part in parts)
        {
            var g = AxisGeometry.Of(part.Shape, axis);
            Launch("shape.cu", "block_insert", ElementwiseGrid(part.Numel), 256, Blocks(P(part), P(y), part.Numel, g, y.Shape[axis], start));
            start += g.Size;
        }
    }

    public void Slice(Tensor x, Tensor y, int axis, int start)
    {
        var a = Blocks(P(x), P(y), y.Numel, AxisGeometry.Of(y.Shape, axis), x.Shape[axis], start);
        Launch("shape.cu", "block_extract", ElementwiseGrid(y.Numel), 256, a);
    }

    /// <summary>One pass that writes all of gx: gy inside the slice, zero around it.</summary>
    public void SliceBackward(Tensor gy, Tensor gx, int axis, int start)
    {
        var a = Blocks(P(gy), P(gx), gx.Numel, AxisGeometry.Of(gy.Shape, axis), gx.Shape[axis], start);
        Launch("shape.cu", "block_pad", ElementwiseGrid(gx.Numel), 256, a);
    }

    public void SliceBackwardAdd(Tensor gy, Tensor gx, int axis, int start)
    {
        var a = Blocks(P(gy), P(gx), gy.Numel, AxisGeometry.Of(gy.Shape, axis), gx.Shape[axis], start);
        Launch("shape.cu", "block_insert_add", ElementwiseGrid(gy.Numel), 256, a);
    }

    // The part (geometry pg) is a range [start, start + pg.Size) of an axis of length wholeSize.
    private static BlockCopyArgs Blocks(ulong src, ulong dst, long n, AxisGeometry pg, int wholeSize, int start) => new()
    {
        Src = src, Dst = dst, N = n, Block = pg.Size * pg.Inner, WholeBlock = wholeSize * pg.Inner, Offset = start * pg.Inner,
    };
}
