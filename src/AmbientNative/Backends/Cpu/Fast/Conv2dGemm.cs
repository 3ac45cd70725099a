using System.Numerics;

namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// Convolution as GEMM (same semantics and layouts as <see cref="Reference.Conv2dRef"/>). With col the im2col
/// matrix of one image (Cin·K² × OutH·OutW, see <see cref="Im2Col"/>) and W viewed as Cout × Cin·K²:
/// <list type="bullet">
/// <item>forward: y[n] = W · col(x[n]) + bias;</item>
/// <item>backward data: gx[n] = col2im(Wᵀ · gy[n]);</item>
/// <item>backward weight: gW = Σₙ gy[n] · col(x[n])ᵀ, gbias = Σₙ,ⱼ gy[n].</item>
/// </list>
/// A 1×1, stride-1, unpadded convolution has col(x[n]) = x[n], so its forward and backward data run on the
/// tensors directly.
/// <para>
/// Work is cut into independent items run by <see cref="Workspace.For"/>, each calling the single-threaded
/// <see cref="Sgemm.Serial"/>, so no two cores write the same output: forward by (image, column block),
/// backward data by (image, input-channel block) (col2im of different channels cannot collide), backward
/// weight by (input-channel block[, output-channel block]), each owning a slice of gW and summing over images.
/// The forward reads B straight from a padded image band where it can (<see cref="ForwardIndirect"/>).
/// Within an item the GEMMs work on pieces of about <see cref="PieceRows"/> col rows × <see cref="PieceCols"/>
/// columns, so that operands, product and the image rows they touch stay in L2 (2 MiB here); the weights,
/// shared by every item, are packed once per call.
/// </para>
/// <paramref name="kernel"/> (every method) forces a SGEMM micro-kernel, for tests; by default the best one.
/// </summary>
public static unsafe class Conv2dGemm
{
    private const int PieceRows = 288, PieceCols = 256;

    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, Conv2dGeometry g,
        SgemmKernel? kernel = null)
    {
        g.Validate();
        Check(g, "x", x.Length, g.InputSize); Check(g, "w", w.Length, g.WeightSize); Check(g, "y", y.Length, g.OutputSize);
        if (!bias.IsEmpty) Check(g, "bias", bias.Length, g.Cout);
        var km = Micro(kernel);
        int kdim = g.Cin * g.K * g.K, spatial = g.OutH * g.OutW, m = g.Cout;
        bool direct = IsPointwise(g), hasBias = !bias.IsEmpty;
        var (per, chunks) = ColumnPieces(spatial, km.NR, Math.Max(1, 2 * Environment.ProcessorCount / g.N));
        if (!direct && g.Stride == 1 && g.OutW % 32 == 0 && (kernel ?? Sgemm.Best) == SgemmKernel.Avx512)
        {
            ForwardIndirect(x, w, bias, y, g, per, chunks);
            return;
        }

        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            var own = Workspace.Rent();
            try
            {
                // W is the A operand of every item: pack it once for all of them. Through im2col the bias rides
                // along as an extra column of A (times a row of ones in B); the 1×1 path fills y with it first.
                bool biasInGemm = hasBias && !direct;
                int kA = biasInGemm ? kdim + 1 : kdim;
                float* packedW = own.Get(Workspace.PackedWeight, Sgemm.PackedASize(m, kA, km));
                if (biasInGemm) Sgemm.PrepackA(new WeightWithBiasA(pw, kdim, pb), m, kA, km, packedW);
                else Sgemm.PrepackA(new DenseA(pw, kdim, trans: false), m, kdim, km, packedW);
                nint X = (nint)px, Y = (nint)py, Bias = (nint)pb, W = (nint)packedW;
                Workspace.For(g.N * chunks, Worth(g), (item, ws) =>
                {
                    int n = item / chunks, j0 = item % chunks * per, cols = Math.Min(per, spatial - j0);
                    float* xn = (float*)X + (nint)n * g.Cin * g.H * g.W;
                    float* yn = (float*)Y + (nint)n * m * spatial + j0;
                    var a = new PrepackedA((float*)W, m, km.MR);
                    if (!direct)
                    {
                        Sgemm.Serial(a, new Im2ColB(xn, g, j0), m, cols, kA, 1f, 0f, yn, spatial, km, ws);
                        return;
                    }
                    if (hasBias)
                        for (int co = 0; co < m; co++) new Span<float>(yn + (nint)co * spatial, cols).Fill(((float*)Bias)[co]);
                    Sgemm.Serial(a, new DenseB(xn + j0, spatial, false), m, cols, kdim, 1f, hasBias ? 1f : 0f, yn, spatial, km, ws);
                });
            }
            finally { Workspace.Return(own); }
        }
    }

    /// <summary>
    /// Forward by indirect convolution (stride 1, OutW a multiple of 32, AVX-512). Each item copies the image rows
    /// its output rows need into a zero-padded band (channels × rows × (W + 2·pad)); the micro-kernel then reads
    /// B row p = (ci, ky, kx) for 32 outputs of one row straight from the band, at a fixed offset per p. Nothing
    /// K²-times larger than the image is written: about 8 % faster than packing the implicit im2col (docs/PERF.md).
    /// The band has one extra channel of ones, which against a bias column in A adds the bias.
    /// </summary>
    private static void ForwardIndirect(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y,
        Conv2dGeometry g, int per, int chunks)
    {
        var km = SgemmKernels.For(SgemmKernel.Avx512);
        int k = g.K, kdim = g.Cin * k * k, spatial = g.OutH * g.OutW, m = g.Cout, ow = g.OutW, plane = g.H * g.W;
        int wp = g.W + 2 * g.Pad;                          // band row pitch (= OutW + K − 1 at stride 1)
        int bandRows = (per + ow - 1) / ow + 1 + k - 1;    // output rows a piece can touch, plus K − 1
        bool hasBias = !bias.IsEmpty;
        int kA = hasBias ? kdim + 1 : kdim, channels = hasBias ? g.Cin + 1 : g.Cin;
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            var own = Workspace.Rent();
            try
            {
                float* packedW = own.Get(Workspace.PackedWeight, Sgemm.PackedASize(m, kA, km));
                if (hasBias) Sgemm.PrepackA(new WeightWithBiasA(pw, kdim, pb), m, kA, km, packedW);
                else Sgemm.PrepackA(new DenseA(pw, kdim, trans: false), m, kdim, km, packedW);
                // Where B row p = (ci, ky, kx) starts in the band, relative to an output's position; the bias row
                // reads the ones channel (ci = Cin, ky = kx = 0).
                nint* rowOffs = (nint*)own.Get(Workspace.Table, 2L * kA);
                for (int p = 0; p < kA; p++)
                {
                    int ci = p / (k * k), ky = p % (k * k) / k, kx = p % k;
                    rowOffs[p] = ((nint)ci * bandRows + ky) * wp + kx;
                }
                nint X = (nint)px, Y = (nint)py, W = (nint)packedW, Offs = (nint)rowOffs;
                Workspace.For(g.N * chunks, Worth(g), (item, ws) =>
                {
                    int n = item / chunks, j0 = item % chunks * per, cols = Math.Min(per, spatial - j0);
                    int oy0 = j0 / ow, rows = (j0 + cols - 1) / ow - oy0 + k; // band rows this piece reads
                    float* xn = (float*)X + (nint)n * g.Cin * plane;
                    float* band = ws.Get(Workspace.Col, (long)channels * bandRows * wp);
                    for (int ci = 0; ci < g.Cin; ci++)
                    for (int r = 0; r < rows; r++)
                    {
                        float* dst = band + ((nint)ci * bandRows + r) * wp;
                        int iy = oy0 + r - g.Pad;
                        if ((uint)iy >= (uint)g.H) { Packing.ZeroRun(dst, wp); continue; }
                        Packing.ZeroRun(dst, g.Pad);
                        Packing.CopyRun(xn + (nint)ci * plane + (nint)iy * g.W, dst + g.Pad, g.W);
                        Packing.ZeroRun(dst + g.Pad + g.W, g.Pad);
                    }
                    if (hasBias) new Span<float>(band + (nint)g.Cin * bandRows * wp, bandRows * wp).Fill(1f);
                    nint* panelOffs = stackalloc nint[cols / 32];
                    for (int t = 0; t < cols / 32; t++)
                    {
                        int j = j0 + 32 * t, oy = j / ow;
                        panelOffs[t] = (nint)(oy - oy0) * wp + (j - oy * ow);
                    }
                    Sgemm.SerialIndirect(new PrepackedA((float*)W, m, km.MR), band, (nint*)Offs, panelOffs, m, cols, kA,
                        1f, 0f, (float*)Y + (nint)n * m * spatial + j0, spatial, ws);
                });
            }
            finally { Workspace.Return(own); }
        }
    }

    public static void BackwardData(ReadOnlySpan<float> gy, ReadOnlySpan<float> w, Span<float> gx, Conv2dGeometry g,
        SgemmKernel? kernel = null)
    {
        g.Validate();
        Check(g, "gy", gy.Length, g.OutputSize); Check(g, "w", w.Length, g.WeightSize); Check(g, "gx", gx.Length, g.InputSize);
        var km = Micro(kernel);
        int kk = g.K * g.K, kdim = g.Cin * kk, spatial = g.OutH * g.OutW, plane = g.H * g.W;
        bool direct = IsPointwise(g);
        // Blocks of input channels (their Wᵀ rows start on a tile boundary, as PrepackedA needs), enough
        // (image, block) items for every core, and column pieces within an item.
        int cb = ChannelBlock(g.Cin, kk, km.MR / Gcd(kk, km.MR), 2 * Environment.ProcessorCount / g.N, km.MR);
        int blocks = (g.Cin + cb - 1) / cb;
        var (per, _) = ColumnPieces(spatial, km.NR, 1);

        fixed (float* pgy = gy, pw = w, pgx = gx)
        {
            var own = Workspace.Rent();
            try
            {
                // Wᵀ (Cin·K² × Cout) is the A operand of every item: pack it once.
                float* packedWt = own.Get(Workspace.PackedWeight, Sgemm.PackedASize(kdim, g.Cout, km));
                Sgemm.PrepackA(new DenseA(pw, kdim, trans: true), kdim, g.Cout, km, packedWt);
                nint GY = (nint)pgy, GX = (nint)pgx, WT = (nint)packedWt;
                Workspace.For(g.N * blocks, Worth(g), (item, ws) =>
                {
                    int n = item / blocks, c0 = item % blocks * cb, c1 = Math.Min(g.Cin, c0 + cb), rows = (c1 - c0) * kk;
                    var a = new PrepackedA((float*)WT, kdim, km.MR, c0 * kk);
                    float* gyn = (float*)GY + (nint)n * g.Cout * spatial;
                    float* gxn = (float*)GX + (nint)n * g.Cin * plane;
                    if (!direct) new Span<float>(gxn + (nint)c0 * plane, (c1 - c0) * plane).Clear();
                    for (int j0 = 0; j0 < spatial; j0 += per)
                    {
                        int cols = Math.Min(per, spatial - j0);
                        var b = new DenseB(gyn + j0, spatial, trans: false);
                        if (direct)
                        {
                            Sgemm.Serial(a, b, rows, cols, g.Cout, 1f, 0f, gxn + (nint)c0 * plane + j0, plane, km, ws);
                            continue;
                        }
                        float* col = ws.Get(Workspace.Col, (long)rows * cols);
                        Sgemm.Serial(a, b, rows, cols, g.Cout, 1f, 0f, col, cols, km, ws);
                        Im2Col.FoldAdd(col, g, c0, c1, j0, j0 + cols, gxn);
                    }
                });
            }
            finally { Workspace.Return(own); }
        }
    }

    public static void BackwardWeight(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gw, Span<float> gbias, Conv2dGeometry g,
        SgemmKernel? kernel = null)
    {
        g.Validate();
        Check(g, "x", x.Length, g.InputSize); Check(g, "gy", gy.Length, g.OutputSize); Check(g, "gw", gw.Length, g.WeightSize);
        if (!gbias.IsEmpty) Check(g, "gbias", gbias.Length, g.Cout);
        var km = Micro(kernel);
        int kk = g.K * g.K, kdim = g.Cin * kk, spatial = g.OutH * g.OutW, plane = g.H * g.W;
        int threads = Environment.ProcessorCount;
        bool hasBias = !gbias.IsEmpty;

        // Input-channel blocks own disjoint columns of gW: no reduction between threads. Their width cb·K² (the
        // GEMM's n) a whole number of NR tiles when possible, and their count a multiple of the core count.
        int cb = ChannelBlock(g.Cin, kk, km.NR / Gcd(kk, km.NR), threads, 1, 2 * PieceRows);
        int blocks = (g.Cin + cb - 1) / cb;
        // Too few input channels for the cores (a first layer): split output channels too.
        int oblocks = blocks >= threads ? 1 : Math.Min((threads + blocks - 1) / blocks, (g.Cout + km.MR - 1) / km.MR);
        int ob = Sgemm.RoundUp((g.Cout + oblocks - 1) / oblocks, km.MR);
        oblocks = (g.Cout + ob - 1) / ob;
        int items = blocks * oblocks;

        fixed (float* px = x, pgy = gy, pgw = gw, pgb = gbias)
        {
            nint X = (nint)px, GY = (nint)pgy, GW = (nint)pgw, GB = (nint)pgb;
            Workspace.For(items, Worth(g), (item, ws) =>
            {
                int c0 = item / oblocks * cb, c1 = Math.Min(g.Cin, c0 + cb), cn = c1 - c0, ncols = cn * kk;
                int o0 = item % oblocks * ob, o1 = Math.Min(g.Cout, o0 + ob), rows = o1 - o0;
                // The block's gradient in (ky, kx, c) column order (see ChannelsLastB), summed over images.
                float* gwT = ws.Get(Workspace.PackedWeight, (long)rows * ncols);
                float* xT = ws.Get(Workspace.Col, (long)plane * cn);
                for (int n = 0; n < g.N; n++)
                {
                    // x[n, c0..c1) to channels-last, then gwT (+)= gy[n] · colᵀ over all output positions.
                    Packing.Transpose((float*)X + ((nint)n * g.Cin + c0) * plane, plane, cn, plane, cn, xT);
                    var a = new DenseA((float*)GY + ((nint)n * g.Cout + o0) * spatial, spatial, trans: false);
                    Sgemm.Serial(a, new ChannelsLastB(xT, g, cn), rows, ncols, spatial, 1f, n == 0 ? 0f : 1f, gwT, ncols, km, ws);
                }
                for (int co = 0; co < rows; co++)
                for (int tap = 0; tap < kk; tap++)
                for (int c = 0; c < cn; c++)
                    ((float*)GW)[(nint)(o0 + co) * kdim + (c0 + c) * kk + tap] = gwT[(nint)co * ncols + tap * cn + c];
                // This item's share of the bias gradient: a contiguous range of output channels.
                if (hasBias)
                    for (int co = item * g.Cout / items; co < (item + 1) * g.Cout / items; co++)
                    {
                        double sum = 0;
                        for (int n = 0; n < g.N; n++) sum += Sum((float*)GY + ((nint)n * g.Cout + co) * spatial, spatial);
                        ((float*)GB)[co] = (float)sum;
                    }
            });
        }
    }

    /// <summary>The micro-kernel to use: <see cref="Sgemm.Best"/> unless a test forces another.</summary>
    private static SgemmKernels.Micro Micro(SgemmKernel? kernel)
    {
        var k = kernel ?? Sgemm.Best;
        if (!Sgemm.IsSupported(k)) throw new PlatformNotSupportedException($"conv2d (fast): the {k} kernel is not supported on this CPU.");
        return SgemmKernels.For(k);
    }

    /// <summary>A 1×1 stride-1 convolution without padding: col(x) is x itself.</summary>
    private static bool IsPointwise(in Conv2dGeometry g) => g.K == 1 && g.Stride == 1 && g.Pad == 0;

    /// <summary>Whether to use all cores: below a few MFLOP a fork/join costs more than it saves.</summary>
    private static bool Worth(in Conv2dGeometry g) => g.Flops >= 4e6;

    /// <summary>Splits an image's columns into pieces of about <see cref="PieceCols"/> (whole NR tiles), and into at
    /// least <paramref name="minPieces"/> when there are columns enough.</summary>
    private static (int Per, int Count) ColumnPieces(int spatial, int nr, int minPieces)
    {
        int count = Math.Max((spatial + PieceCols - 1) / PieceCols, Math.Min(minPieces, (spatial + nr - 1) / nr));
        int per = Sgemm.RoundUp((spatial + count - 1) / count, nr);
        return (per, (spatial + per - 1) / per);
    }

    /// <summary>
    /// Input channels per block: about <see cref="PieceRows"/> col rows (cb·K²), a multiple of
    /// <paramref name="step"/> when at least one step fits (so cb·K² is a whole number of GEMM tiles), at least
    /// <paramref name="minBlocks"/> blocks when there are channels enough, and then balanced: equal blocks, their
    /// count a multiple of that minimum where possible. <paramref name="align"/>: a multiple cb must keep.
    /// </summary>
    private static int ChannelBlock(int cin, int kk, int step, int minBlocks, int align, int targetRows = PieceRows)
    {
        int cb = Math.Clamp(targetRows / kk, 1, cin);
        if (cb >= step) cb = cb / step * step;
        int blocks = (cin + cb - 1) / cb;
        minBlocks = Math.Clamp(minBlocks, 1, cin);
        if (blocks < minBlocks) blocks = minBlocks;
        else if (blocks % minBlocks != 0 && Sgemm.RoundUp(blocks, minBlocks) <= cin) blocks = Sgemm.RoundUp(blocks, minBlocks);
        int balanced = (cin + blocks - 1) / blocks;
        // Keep cb a multiple of align (row blocks of prepacked Wᵀ must start on a tile).
        balanced = Sgemm.RoundUp(balanced, align / Gcd(kk, align));
        return Math.Min(balanced, cin);
    }

    private static float Sum(float* p, int n)
    {
        var acc = Vector<float>.Zero;
        int i = 0, v = Vector<float>.Count;
        for (; i + v <= n; i += v) acc += Vector.Load(p + i);
        float s = Vector.Sum(acc);
        for (; i < n; i++) s += p[i];
        return s;
    }

    private static void Check(in Conv2dGeometry g, string name, int length, int need)
    {
        if (length != need) throw new ArgumentException($"conv2d (fast): {name} has {length} elements, {g} needs {need}.");
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
