using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument blocks of kernels/conv2d.cu: field order and types must match its structs.
[StructLayout(LayoutKind.Sequential)]
internal struct ConvArgs
{
    public ulong X, W, Bias, Gy, Out, GBias, Residual;
    public int N, Cin, H, Wd, Cout, K, Stride, Pad, OH, OW;
    public int StepsPerSplit;
    public float Scale;
    public uint OwMagic; // the weight gradient divides by OW (FastDivisor)
    public int OwShift;
    public uint QsMagic; // and its k-step by the k-steps per image, ceil(OH·OW / BK)
    public int QsShift;

    public ConvArgs(Conv2dGeometry g) : this()
    {
        N = g.N; Cin = g.Cin; H = g.H; Wd = g.W; Cout = g.Cout; K = g.K; Stride = g.Stride; Pad = g.Pad; OH = g.OutH; OW = g.OutW;
        (OwMagic, OwShift) = FastDivisor.For(g.OutW);
        (QsMagic, QsShift) = FastDivisor.For(CudaBackend.PixelStepsPerImage(g));
    }
}

[StructLayout(LayoutKind.Sequential)]
internal struct ReduceArgs { public ulong Ws, Out, WsB, OutB; public long Len, LenB; public int Splits; }

public sealed partial class CudaBackend
{
    private const int Tile = 128, TileK = 8; // BM = BN and BK of conv2d.cu

    private static uint Tiles(long n) => (uint)((n + Tile - 1) / Tile);

    /// <summary>The weight gradient's k-steps per image: BK output pixels each (conv2d.cu's WeightGemm).</summary>
    internal static int PixelStepsPerImage(Conv2dGeometry g) => (g.OutH * g.OutW + TileK - 1) / TileK;

    private bool _convTf32;

    /// <summary>
    /// Runs the three conv GEMMs on the TF32 tensor cores (the conv2d_*_tf32 kernels: inputs rounded to 10 mantissa
    /// bits, fp32 accumulation; ~1e-3 relative error instead of ~1e-6). Off by default; needs compute capability 8.0 or
    /// later. Checked against the float64 reference on the CUDA emulator (its mma model follows the PTX ISA's fragment
    /// layout); not yet run or timed on a GPU.
    /// </summary>
    public bool ConvTf32
    {
        get => _convTf32;
        set
        {
            if (value && Context.Info.Major < 8)
                throw new InvalidOperationException($"{Device}: TF32 tensor cores need compute capability 8.0 or later; this device is {Context.Info.Arch}.");
            _convTf32 = value;
        }
    }

    private string ConvKernel(string name) => _convTf32 ? name + "_tf32" : name;

    /// <summary>The residual junction, when given, is the forward kernels' epilogue: (acc + bias + skip)·scale.</summary>
    public void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g, ConvResidual? residual = null)
    {
        if (residual is { } r) ConvResidual.Checked(r.Skip, y);
        var a = new ConvArgs(g) { X = P(x), W = P(w), Bias = POpt(bias), Out = P(y), Residual = POpt(residual?.Skip), Scale = residual?.Scale ?? 1f };
        Launch("conv2d.cu", ConvKernel("conv2d_fwd"), (Tiles((long)g.N * g.OutH * g.OutW), Tiles(g.Cout), 1u), 256, a);
    }

    public void Conv2dBackwardData(Tensor gy, Tensor w, Tensor gx, Conv2dGeometry g)
    {
        var a = new ConvArgs(g) { Gy = P(gy), W = P(w), Out = P(gx) };
        Launch("conv2d.cu", ConvKernel("conv2d_dgrad"), (Tiles((long)g.N * g.H * g.W), Tiles(g.Cin), 1u), 256, a);
    }

    /// <summary>
    /// gw, and gbias from the same launch: the blocks of the first column tile also sum the gy values they load (the
    /// bias gradient was a launch of its own re-reading gy, 2.95 ms of a batch-256 step on the H100). With split-K,
    /// each split writes a gw-shaped and a [Cout] slice of one workspace and one reduction sums both in split order.
    /// </summary>
    public void Conv2dBackwardWeight(Tensor x, Tensor gy, Tensor gw, Tensor? gbias, Conv2dGeometry g)
    {
        var (splits, perSplit) = WeightGradSplits(g, Context.Info.SmCount);
        uint gx = Tiles((long)g.Cin * g.K * g.K), gyTiles = Tiles(g.Cout);
        var a = new ConvArgs(g) { X = P(x), Gy = P(gy), StepsPerSplit = perSplit };
        if (splits == 1)
        {
            a.Out = P(gw);
            a.GBias = POpt(gbias);
            Launch("conv2d.cu", ConvKernel("conv2d_wgrad"), (gx, gyTiles, 1u), 256, a);
            return;
        }
        // One gw-sized (and one bias-sized) slice per split, summed in a fixed order: deterministic, unlike atomics.
        long len = g.WeightSize, lenB = gbias != null ? g.Cout : 0;
        var ws = Allocator.Rent(4L * (len + lenB) * splits, out var bucket);
        try
        {
            ulong wsB = ws + 4UL * (ulong)(len * splits);
            a.Out = ws;
            a.GBias = gbias != null ? wsB : 0;
            Launch("conv2d.cu", ConvKernel("conv2d_wgrad"), (gx, gyTiles, (uint)splits), 256, a);
            Launch("conv2d.cu", "conv2d_wgrad_reduce", ElementwiseGrid(len + lenB), 256,
                new ReduceArgs { Ws = ws, Out = P(gw), WsB = wsB, OutB = POpt(gbias), Len = len, LenB = lenB, Splits = splits });
        }
        finally { Allocator.Return(ws, bucket); } // stream order keeps it alive for the queued kernels
    }

    /// <summary>
    /// Split-K for the weight gradient: its output has few tiles (Cout × Cin·K² / 128²) and a long reduction
    /// (N·OH·OW), so the reduction is cut into slices, as many as fit the GPU in one wave: two blocks per SM
    /// are resident (launch bounds (256, 2)), and one block more than that costs a whole second wave
    /// (measured on the H100: 270 blocks for 264 slots ran the weight gradient in 4.1 ms).
    /// Returns (number of splits, k-steps per split), with no split left empty.
    /// </summary>
    internal static (int Splits, int StepsPerSplit) WeightGradSplits(Conv2dGeometry g, int smCount)
    {
        long tiles = (long)Tiles((long)g.Cin * g.K * g.K) * Tiles(g.Cout);
        long steps = (long)g.N * PixelStepsPerImage(g);
        long want = Math.Clamp(2L * smCount / tiles, 1, Math.Min(steps, 256));
        long per = (steps + want - 1) / want;
        int splits = (int)((steps + per - 1) / per);
        return (splits, (int)per);
    }
}
