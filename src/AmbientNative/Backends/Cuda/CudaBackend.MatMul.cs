using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument blocks of kernels/gemm.cu: field order and types must match its structs.
[StructLayout(LayoutKind.Sequential)]
internal struct GemmKernelArgs { public ulong A, B, C; public long Sa, Sb, Sc; public int M, N, K; public float Alpha, Beta; }

[StructLayout(LayoutKind.Sequential)]
internal struct RowsArgs { public ulong Bias, Y; public long Total; public int N; }

public sealed partial class CudaBackend
{
    private const int MaxGridYZ = 65535;

    public void Gemm(Tensor a, Tensor b, Tensor c, GemmArgs args) => Gemm(a, b, c, args, GemmTile(args, Context.Info.SmCount));

    /// <param name="tile">64 or 128: the block tile (benchmarks compare them; <see cref="GemmTile"/> chooses).</param>
    internal void Gemm(Tensor a, Tensor b, Tensor c, GemmArgs args, int tile)
    {
        args.Validate();
        args.CheckSizes(a.Numel, b.Numel, c.Numel);
        if (tile is not (64 or 128)) throw new ArgumentOutOfRangeException(nameof(tile), $"GEMM tiles are 64 or 128; got {tile}.");
        if ((args.M + tile - 1) / tile > MaxGridYZ)
            throw new NotSupportedException($"{args}: M = {args.M} is beyond the CUDA GEMM's grid (at most {MaxGridYZ} row tiles of {tile}).");
        string kernel = $"gemm{tile}_{(args.TransA ? 't' : 'n')}{(args.TransB ? 't' : 'n')}";
        var k = new GemmKernelArgs
        {
            Sa = (long)args.M * args.K, Sb = (long)args.K * args.N, Sc = (long)args.M * args.N,
            M = args.M, N = args.N, K = args.K, Alpha = args.Alpha, Beta = args.Beta,
        };
        uint gx = (uint)((args.N + tile - 1) / tile), gy = (uint)((args.M + tile - 1) / tile);
        for (int b0 = 0; b0 < args.Batch; b0 += MaxGridYZ) // blockIdx.z is the batch index
        {
            k.A = P(a) + 4UL * (ulong)(b0 * k.Sa);
            k.B = P(b) + 4UL * (ulong)(b0 * k.Sb);
            k.C = P(c) + 4UL * (ulong)(b0 * k.Sc);
            Launch("gemm.cu", kernel, (gx, gy, (uint)Math.Min(MaxGridYZ, args.Batch - b0)), 256, k);
        }
    }

    /// <summary>
    /// 128×128 tiles (8×8 outputs per thread, the higher FMA-to-load ratio) when they give every SM a block and the
    /// reduction is long enough to amortize a tile's fill; 64×64 tiles otherwise, so small and short-K GEMMs (a
    /// small model's, attention's QᵀK with K = head size) spread over more blocks. Measured on the H100
    /// (docs/PERF.md, GPU section): 2048³ runs 0.54 ms with 128 tiles vs 0.67 ms with 64 (256 tiles of 128); attention-shaped
    /// 64×256×256×64 and 64×64×256×256 run 0.029 and 0.028 ms with 64 tiles vs 0.041 and 0.046 ms with 128.
    /// </summary>
    internal static int GemmTile(GemmArgs g, int smCount)
    {
        long tiles128 = (long)((g.M + 127) / 128) * ((g.N + 127) / 128) * g.Batch;
        return tiles128 >= smCount && g.K >= 256 ? 128 : 64;
    }

    public void BroadcastRows(Tensor bias, Tensor y)
    {
        if (bias.Numel == 0 || y.Numel % bias.Numel != 0)
            throw new ArgumentException($"BroadcastRows: {y.Shape} is not a whole number of rows of {bias.Shape}.");
        var a = new RowsArgs { Bias = P(bias), Y = P(y), Total = y.Numel, N = bias.Numel };
        Launch("gemm.cu", "broadcast_rows", ElementwiseGrid(y.Numel), 256, a);
    }

    /// <summary>Column sums: the sum over axis 0 of gy seen as [rows, n].</summary>
    public void SumRows(Tensor gy, Tensor gbias)
    {
        if (gbias.Numel == 0 || gy.Numel % gbias.Numel != 0)
            throw new ArgumentException($"SumRows: {gy.Shape} is not a whole number of rows of {gbias.Shape}.");
        SumAxis(P(gy), P(gbias), new AxisGeometry(1, gy.Numel / gbias.Numel, gbias.Numel), 1f);
    }
}
