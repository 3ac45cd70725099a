using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of the sum kernels in kernels/reduce.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct SumArgs { public ulong X, Y; public int Outer, Size, Inner, Chunk, Splits; public float Scale; }

public sealed partial class CudaBackend
{
    public void Sum(Tensor x, Tensor y, AxisGeometry g, float scale) => SumAxis(P(x), P(y), g, scale);

    public void SumBackward(Tensor gy, Tensor gx, AxisGeometry g, float scale)
    {
        var a = new SumArgs { X = P(gy), Y = P(gx), Outer = g.Outer, Size = g.Size, Inner = g.Inner, Scale = scale };
        Launch("reduce.cu", "sum_backward", ElementwiseGrid(g.Numel), 256, a);
    }

    /// <summary>
    /// y[o, i] = scale·Σₖ x[o, k, i]. A long axis with few outputs (a whole-tensor sum, column sums of a tall matrix)
    /// is cut into chunks so the GPU fills: pass one writes the chunks' partial sums, pass two adds them in order.
    /// </summary>
    internal void SumAxis(ulong x, ulong y, AxisGeometry g, float scale)
    {
        var (splits, chunk) = SumSplits(g, Context.Info.SmCount);
        if (splits == 1)
        {
            SumPass(x, y, g, g.Size, 1, scale);
            return;
        }
        using var ws = new Scratch(Allocator, 4L * g.Outer * splits * g.Inner);
        SumPass(x, ws.Pointer, g, chunk, splits, 1f);
        SumPass(ws.Pointer, y, g with { Size = splits }, splits, 1, scale);
    }

    private void SumPass(ulong x, ulong y, AxisGeometry g, int chunk, int splits, float scale)
    {
        var a = new SumArgs { X = x, Y = y, Outer = g.Outer, Size = g.Size, Inner = g.Inner, Chunk = chunk, Splits = splits, Scale = scale };
        if (g.Inner == 1)
            Launch("reduce.cu", "sum_inner", (uint)Math.Clamp((long)g.Outer * splits, 1, Context.Info.SmCount * 32L), 256, a);
        else
            Launch("reduce.cu", "sum_outer", ElementwiseGrid((long)g.Outer * splits * g.Inner), 256, a);
    }

    /// <summary>
    /// (splits, chunk length) for a sum: one split when there are outputs enough to fill the GPU (a block per row
    /// when Inner = 1, a thread per output otherwise); else about two blocks per SM (rows) or 2048 threads per SM
    /// (columns), with chunks of at least 4096 (rows) or 32 (columns) elements.
    /// </summary>
    internal static (int Splits, int Chunk) SumSplits(AxisGeometry g, int smCount)
    {
        long outputs = (long)g.Outer * g.Inner;
        long want = g.Inner == 1
            ? Math.Min(2L * smCount / Math.Max(1, outputs), g.Size / 4096)
            : Math.Min(2048L * smCount / Math.Max(1, outputs), g.Size / 32);
        if (want <= 1) return (1, g.Size);
        int chunk = (int)((g.Size + want - 1) / want);
        return ((g.Size + chunk - 1) / chunk, chunk);
    }
}
