namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// Convolution as GEMM (same semantics and layouts as <see cref="Reference.Conv2dRef"/>). With col the im2col
/// matrix of one image (Cin·K² × OutH·OutW, see <see cref="Im2Col"/>) and W viewed as Cout × Cin·K²:
/// <list type="bullet">
/// <item>forward: y[n] = W · col(x[n]) + bias;</item>
/// <item>backward data: gx[n] = col2im(Wᵀ · gy[n]);</item>
/// <item>backward weight: gW = Σₙ gy[n] · col(x[n])ᵀ, gbias = Σₙ,ⱼ gy[n].</item>
/// </list>
/// A 1×1, stride-1, unpadded convolution has col(x[n]) = x[n], so it runs on the tensors directly.
/// <para>
/// Work is cut into independent items, each running the single-threaded <see cref="Sgemm.Serial"/> in its
/// worker's <see cref="Workspace"/>, so the cores never share a cache line of output: forward by (image, column block),
/// backward data by (image, input-channel block) (col2im of different channels cannot collide), backward
/// weight by (input-channel block[, output-channel block]), each owning a slice of gW and summing over images.
/// Column-matrix pieces are sized to stay in L2 next to the GEMM panels.
/// </para>
/// </summary>
public static unsafe class Conv2dGemm
{
    /// <summary>Floats of column matrix materialised per work item (1 MiB: half of this machine's L2).</summary>
    private const long ColBudget = 1 << 18;

    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, Conv2dGeometry g)
    {
        g.Validate();
        Check(g, "x", x.Length, g.InputSize); Check(g, "w", w.Length, g.WeightSize); Check(g, "y", y.Length, g.OutputSize);
        if (!bias.IsEmpty) Check(g, "bias", bias.Length, g.Cout);
        var km = SgemmKernels.For(Sgemm.Best);
        int kdim = g.Cin * g.K * g.K, spatial = g.OutH * g.OutW, m = g.Cout, threads = Environment.ProcessorCount;
        bool direct = IsPointwise(g), hasBias = !bias.IsEmpty;

        // Column blocks per image: just enough items to feed every core (a small batch splits its images).
        int chunks = Math.Clamp((2 * threads + g.N - 1) / g.N, 1, Math.Max(1, spatial / km.NR));
        int per = Sgemm.RoundUp((spatial + chunks - 1) / chunks, km.NR);
        chunks = (spatial + per - 1) / per;

        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            // W is the A operand of every item: pack it once, here, for all of them.
            var own = Workspace.Rent();
            try
            {
                float* packedW = own.Get(Workspace.PackedWeight, Sgemm.PackedASize(m, kdim, km));
                Sgemm.PrepackA(new DenseA(pw, kdim, false), m, kdim, km, packedW);
                nint X = (nint)px, Y = (nint)py, Bias = (nint)pb, W = (nint)packedW;
                Workspace.For(g.N * chunks, Worth(g), (item, ws) =>
                {
                    int n = item / chunks, j0 = item % chunks * per, cols = Math.Min(per, spatial - j0);
                    float* xn = (float*)X + (nint)n * g.Cin * g.H * g.W;
                    float* yn = (float*)Y + (nint)n * m * spatial + j0;
                    if (hasBias)
                        for (int co = 0; co < m; co++) new Span<float>(yn + (nint)co * spatial, cols).Fill(((float*)Bias)[co]);
                    var a = new PrepackedA((float*)W, m, km.MR);
                    float beta = hasBias ? 1f : 0f;
                    if (direct) Sgemm.Serial(a, new DenseB(xn + j0, spatial, false), m, cols, kdim, 1f, beta, yn, spatial, km, ws);
                    else Sgemm.Serial(a, new Im2ColB(xn, g, j0), m, cols, kdim, 1f, beta, yn, spatial, km, ws);
                });
            }
            finally { Workspace.Return(own); }
        }
    }

    public static void BackwardData(ReadOnlySpan<float> gy, ReadOnlySpan<float> w, Span<float> gx, Conv2dGeometry g)
    {
        g.Validate();
        Check(g, "gy", gy.Length, g.OutputSize); Check(g, "w", w.Length, g.WeightSize); Check(g, "gx", gx.Length, g.InputSize);
        var km = SgemmKernels.For(Sgemm.Best);
        int kk = g.K * g.K, kdim = g.Cin * kk, spatial = g.OutH * g.OutW, plane = g.H * g.W;
        int threads = Environment.ProcessorCount;
        bool direct = IsPointwise(g);

        // Channel blocks: the block's col (cb·K² × OutH·OutW) within budget, its row count a multiple of MR
        // when that is cheap, and enough items to feed every core.
        int cb = ChannelBlock(g.Cin, (long)kk * spatial, km.MR / Gcd(kk, km.MR));
        int blocks = (g.Cin + cb - 1) / cb;
        if (g.N * blocks < 2 * threads) blocks = Math.Min(g.Cin, (2 * threads + g.N - 1) / g.N);
        cb = (g.Cin + blocks - 1) / blocks;
        blocks = (g.Cin + cb - 1) / cb;

        fixed (float* pgy = gy, pw = w, pgx = gx)
        {
            nint GY = (nint)pgy, W = (nint)pw, GX = (nint)pgx;
            Workspace.For(g.N * blocks, Worth(g), (item, ws) =>
            {
                int n = item / blocks, c0 = item % blocks * cb, c1 = Math.Min(g.Cin, c0 + cb), rows = (c1 - c0) * kk;
                var a = new DenseA((float*)W + c0 * kk, kdim, trans: true); // rows [c0·K², c1·K²) of Wᵀ
                var b = new DenseB((float*)GY + (nint)n * g.Cout * spatial, spatial, trans: false);
                float* gxn = (float*)GX + (nint)n * g.Cin * plane;
                if (direct)
                {
                    Sgemm.Serial(a, b, rows, spatial, g.Cout, 1f, 0f, gxn + (nint)c0 * plane, spatial, km, ws);
                    return;
                }
                float* col = ws.Get(Workspace.Col, (long)rows * spatial);
                Sgemm.Serial(a, b, rows, spatial, g.Cout, 1f, 0f, col, spatial, km, ws);
                new Span<float>(gxn + (nint)c0 * plane, (c1 - c0) * plane).Clear();
                Im2Col.FoldAdd(col, g, c0, c1, gxn);
            });
        }
    }

    public static void BackwardWeight(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gw, Span<float> gbias, Conv2dGeometry g)
    {
        g.Validate();
        Check(g, "x", x.Length, g.InputSize); Check(g, "gy", gy.Length, g.OutputSize); Check(g, "gw", gw.Length, g.WeightSize);
        if (!gbias.IsEmpty) Check(g, "gbias", gbias.Length, g.Cout);
        var km = SgemmKernels.For(Sgemm.Best);
        int kk = g.K * g.K, kdim = g.Cin * kk, spatial = g.OutH * g.OutW, plane = g.H * g.W;
        int threads = Environment.ProcessorCount;
        bool direct = IsPointwise(g), hasBias = !gbias.IsEmpty;

        // Input-channel blocks own disjoint columns of gW: no reduction between threads. The block's col width
        // (cb·K², the GEMM's n) preferably a multiple of NR; blocks a multiple of the core count for balance.
        int cb = ChannelBlock(g.Cin, (long)kk * spatial, km.NR / Gcd(kk, km.NR));
        int blocks = (g.Cin + cb - 1) / cb;
        if (blocks % threads != 0 && g.Cin >= Sgemm.RoundUp(blocks, threads)) blocks = Sgemm.RoundUp(blocks, threads);
        cb = (g.Cin + blocks - 1) / blocks;
        blocks = (g.Cin + cb - 1) / cb;
        // Too few input channels for the cores (a first layer): split output channels too.
        int oblocks = blocks >= threads ? 1 : Math.Min((threads + blocks - 1) / blocks, (g.Cout + km.MR - 1) / km.MR);
        int ob = Sgemm.RoundUp((g.Cout + oblocks - 1) / oblocks, km.MR);
        oblocks = (g.Cout + ob - 1) / ob;
        // Column pieces of one image when even one channel's col exceeds the budget (large images).
        int jPer = (int)Math.Clamp(ColBudget / ((long)cb * kk), 1, spatial);
        if (jPer < spatial) jPer = Math.Max(Math.Min(spatial, 64), jPer / 64 * 64);
        int items = blocks * oblocks;

        fixed (float* px = x, pgy = gy, pgw = gw, pgb = gbias)
        {
            nint X = (nint)px, GY = (nint)pgy, GW = (nint)pgw, GB = (nint)pgb;
            Workspace.For(items, Worth(g), (item, ws) =>
            {
                int c0 = item / oblocks * cb, c1 = Math.Min(g.Cin, c0 + cb), ncols = (c1 - c0) * kk;
                int o0 = item % oblocks * ob, o1 = Math.Min(g.Cout, o0 + ob);
                float* gwBlock = (float*)GW + (nint)o0 * kdim + c0 * kk;
                float beta = 0f; // the first product overwrites gW, later ones accumulate
                for (int n = 0; n < g.N; n++)
                {
                    float* xn = (float*)X + (nint)n * g.Cin * plane;
                    for (int j0 = 0; j0 < spatial; j0 += jPer)
                    {
                        int cols = Math.Min(jPer, spatial - j0);
                        var a = new DenseA((float*)GY + ((nint)n * g.Cout + o0) * spatial + j0, spatial, trans: false);
                        DenseB b;
                        if (direct) b = new DenseB(xn + (nint)c0 * plane + j0, plane, trans: true);
                        else
                        {
                            float* col = ws.Get(Workspace.Col, (long)ncols * cols);
                            Im2Col.Unfold(xn, g, c0, c1, j0, j0 + cols, col);
                            b = new DenseB(col, cols, trans: true);
                        }
                        Sgemm.Serial(a, b, o1 - o0, ncols, cols, 1f, beta, gwBlock, kdim, km, ws);
                        beta = 1f;
                    }
                }
                // This item's share of the bias gradient: a contiguous range of output channels.
                if (hasBias)
                    for (int co = item * g.Cout / items; co < (item + 1) * g.Cout / items; co++)
                    {
                        double s = 0;
                        for (int n = 0; n < g.N; n++) s += Sum((float*)GY + ((nint)n * g.Cout + co) * spatial, spatial);
                        ((float*)GB)[co] = (float)s;
                    }
            });
        }
    }

    /// <summary>A 1×1 stride-1 convolution without padding: col(x) is x itself.</summary>
    private static bool IsPointwise(in Conv2dGeometry g) => g.K == 1 && g.Stride == 1 && g.Pad == 0;

    /// <summary>Whether to use all cores: below a few MFLOP a fork/join costs more than it saves.</summary>
    private static bool Worth(in Conv2dGeometry g) => g.Flops >= 4e6;

    private static float Sum(float* p, int n)
    {
        var acc = System.Numerics.Vector<float>.Zero;
        int i = 0, v = System.Numerics.Vector<float>.Count;
        for (; i + v <= n; i += v) acc += System.Numerics.Vector.Load(p + i);
        float s = System.Numerics.Vector.Sum(acc);
        for (; i < n; i++) s += p[i];
        return s;
    }

    private static void Check(in Conv2dGeometry g, string name, int length, int need)
    {
        if (length != need) throw new ArgumentException($"conv2d (fast): {name} has {length} elements, {g} needs {need}.");
    }

    /// <summary>
    /// Input channels per block: as many as keep the block's col within budget, rounded to a multiple of
    /// <paramref name="step"/> (which makes cb·K² a whole number of GEMM tiles: a ragged last tile computes
    /// padding), or rounded up to one step when that stays within twice the budget.
    /// </summary>
    private static int ChannelBlock(int cin, long floatsPerChannel, int step)
    {
        int cb = (int)Math.Clamp(ColBudget / floatsPerChannel, 1, cin);
        if (cb >= step) return cb / step * step;
        return step <= cin && step * floatsPerChannel <= 2 * ColBudget ? step : cb;
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
