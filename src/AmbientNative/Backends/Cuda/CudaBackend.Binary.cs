using System.Runtime.InteropServices;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of the binary kernels in kernels/elementwise.cu: field order and types must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BinaryArgs
{
    public const int MaxRank = 8; // AN_MAX_RANK
    public ulong A, B, Gy, Out;
    public long N, Fan;
    public int Op, Rank, Wrt, OneRed, RedSo, RedSy;
    public fixed int Dims[MaxRank];
    public fixed int So[MaxRank];
    public fixed int Sa[MaxRank];
    public fixed int Sb[MaxRank];
}

// Argument block of add_scaled / add_scaled_backward in kernels/elementwise.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct AddScaledArgs { public ulong A, B, Gy, Y, Ga, Gb; public long N; public float Scale; }

public sealed partial class CudaBackend
{
    public void AddScaled(Tensor a, Tensor b, float scale, Tensor y)
    {
        SameSize("AddScaled", a, y);
        SameSize("AddScaled", b, y);
        var p = new AddScaledArgs { A = P(a), B = P(b), Y = P(y), N = y.Numel, Scale = scale };
        Launch("elementwise.cu", "add_scaled", ElementwiseGrid(y.Numel), 256, p);
    }

    public void AddScaledBackward(Tensor gy, float scale, Tensor? ga, Tensor? gb)
    {
        if (ga != null) SameSize("AddScaledBackward", gy, ga);
        if (gb != null) SameSize("AddScaledBackward", gy, gb);
        if (ga == null && gb == null) return;
        var p = new AddScaledArgs { Gy = P(gy), Ga = POpt(ga), Gb = POpt(gb), N = gy.Numel, Scale = scale };
        Launch("elementwise.cu", "add_scaled_backward", ElementwiseGrid(gy.Numel), 256, p);
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        var p = BroadcastGeometry(a.Shape, b.Shape, y.Shape);
        p.A = P(a); p.B = P(b); p.Out = P(y); p.N = y.Numel; p.Op = (int)op;
        Launch("elementwise.cu", "binary_forward", ElementwiseGrid(y.Numel), 256, p);
    }

    /// <summary>
    /// Each requested gradient is one launch that writes every element of it: an operand of the output's shape (or
    /// one that few outputs read) gets a thread per element; one read by many outputs (per-sample or per-channel
    /// operands) gets a block per element, which sums its outputs in a fixed tree. No atomics: reproducible.
    /// </summary>
    public void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb)
    {
        if (ga != null) BinaryGrad(op, a, b, gy, ga, 0);
        if (gb != null) BinaryGrad(op, a, b, gy, gb, 1);
    }

    /// <param name="perBlock">Force the block-per-element (true) or thread-per-element (false) kernel; null chooses by fan.</param>
    internal unsafe void BinaryGrad(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor g, int wrt, bool? perBlock = null)
    {
        var p = BroadcastGeometry(a.Shape, b.Shape, gy.Shape);
        p.A = P(a); p.B = P(b); p.Gy = P(gy); p.Out = P(g); p.N = g.Numel; p.Op = (int)op; p.Wrt = wrt;
        p.Fan = gy.Numel / Math.Max(1, g.Numel);
        int broadcast = 0;
        for (int k = 0; k < p.Rank; k++)
        {
            int sx = wrt == 0 ? p.Sa[k] : p.Sb[k];
            if (sx != 0) continue;
            broadcast++;
            p.RedSo = p.So[k];
            p.RedSy = wrt == 0 ? p.Sb[k] : p.Sa[k];
        }
        p.OneRed = broadcast == 1 ? 1 : 0;
        if (!(perBlock ?? p.Fan >= 64))
            Launch("elementwise.cu", "binary_grad_thread", ElementwiseGrid(g.Numel), 256, p);
        else
            Launch("elementwise.cu", "binary_grad_block", (uint)Math.Clamp(g.Numel, 1, Context.Info.SmCount * 32L),
                p.Fan >= 1024 ? 256u : 128u, p);
    }

    /// <summary>
    /// The broadcast of a and b to y as the kernels index it: y's shape with size-1 dimensions dropped and
    /// neighbouring dimensions merged wherever both operands walk them as one (both broadcast, or both contiguous
    /// across the pair), and each operand's stride along every remaining dimension (0 where it is broadcast).
    /// Equal shapes collapse to rank 1; [N,C,H,W] with [N,C,1,1] to rank 2.
    /// </summary>
    internal static unsafe BinaryArgs BroadcastGeometry(Shape a, Shape b, Shape y)
    {
        int r = y.Rank;
        var sa = a.Strides();
        var sb = b.Strides();
        var dims = new List<int>();
        var strideA = new List<int>();
        var strideB = new List<int>();
        for (int k = 0; k < r; k++)
        {
            int d = y[k];
            if (d == 1) continue;
            int ka = k - (r - a.Rank), kb = k - (r - b.Rank);
            int s1 = ka >= 0 && a[ka] != 1 ? sa[ka] : 0;
            int s2 = kb >= 0 && b[kb] != 1 ? sb[kb] : 0;
            int last = dims.Count - 1;
            if (last >= 0 && Mergeable(strideA[last], s1, d) && Mergeable(strideB[last], s2, d))
            {
                dims[last] *= d;
                strideA[last] = s1;
                strideB[last] = s2;
            }
            else
            {
                dims.Add(d);
                strideA.Add(s1);
                strideB.Add(s2);
            }
        }
        if (dims.Count == 0) { dims.Add(1); strideA.Add(0); strideB.Add(0); } // one element
        if (dims.Count > BinaryArgs.MaxRank)
            throw new NotSupportedException(
                $"binary op on CUDA: broadcasting {a} with {b} needs {dims.Count} dimensions after merging; the kernels take {BinaryArgs.MaxRank}.");
        var p = new BinaryArgs { Rank = dims.Count };
        int stride = 1;
        for (int k = dims.Count - 1; k >= 0; k--)
        {
            p.Dims[k] = dims[k];
            p.So[k] = stride;
            p.Sa[k] = strideA[k];
            p.Sb[k] = strideB[k];
            stride *= dims[k];
        }
        return p;
    }

    // Two neighbouring dimensions act as one for an operand when both are broadcast, or both are kept with no gap
    // between them in memory (always so for contiguous operands once size-1 dimensions are dropped; checked anyway).
    private static bool Mergeable(int outer, int inner, int innerSize) =>
        outer == 0 ? inner == 0 : inner != 0 && outer == inner * innerSize;
}
