using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Fused single-head attention (the formulas of AttentionRef) for up to <see cref="MaxTokens"/> tokens, the U-Net's
/// 8×8 and 16×16 (and 32×32) levels. Forward: one group per query row keeps the row's T scaled logits in shared
/// memory, takes max and Σexp by group trees, and writes out[·, i] and lse_i; the [T, T] probabilities never reach
/// memory. Backward: the same row groups recompute P from lse, form gS and gq, and leave P and gS in scratch for a
/// second pass, one group per key column, that sums gv and gk over the queries (a fixed order, no atomics).
/// Not tiled for tensor cores: a first fused version, to be measured against the GEMM composition on the GPU.
/// </summary>
internal sealed class IlgpuAttention
{
    /// <summary>Most tokens a row's logits can hold in shared memory (32×32 pixels; 4 KB per group).</summary>
    public const int MaxTokens = 1024;

    private readonly int _groupSize;
    private readonly Action<KernelConfig, AttentionViews, Args> _forward;
    private readonly Action<KernelConfig, AttentionViews, Args> _backwardRows;
    private readonly Action<KernelConfig, AttentionViews, Args> _backwardColumns;

    public IlgpuAttention(IlgpuRuntime runtime)
    {
        var acc = runtime.Accelerator;
        _groupSize = runtime.GroupSize;
        _forward = acc.LoadStreamKernel<AttentionViews, Args>(ForwardKernel);
        _backwardRows = acc.LoadStreamKernel<AttentionViews, Args>(BackwardRowsKernel);
        _backwardColumns = acc.LoadStreamKernel<AttentionViews, Args>(BackwardColumnsKernel);
    }

    internal readonly record struct Args(int N, int C, int T, float Scale)
    {
        public static Args Of(AttentionGeometry g) => new(g.N, g.C, g.Tokens, g.Scale);
    }

    /// <summary>
    /// qkv [N, C, 3, T], out [N, C, T], lse [N, T]; for the backward also gOut, gQkv, and scratch P and gS [N, T, T]
    /// (unused views may be empty in the forward).
    /// </summary>
    internal readonly record struct AttentionViews(ArrayView<float> Qkv, ArrayView<float> Out, ArrayView<float> Lse,
        ArrayView<float> GOut, ArrayView<float> GQkv, ArrayView<float> P, ArrayView<float> GS);

    public void Forward(AttentionViews v, AttentionGeometry g)
    {
        Check(g);
        _forward(new KernelConfig(g.N * g.Tokens, _groupSize), v, Args.Of(g));
    }

    public void Backward(AttentionViews v, AttentionGeometry g)
    {
        Check(g);
        _backwardRows(new KernelConfig(g.N * g.Tokens, _groupSize), v, Args.Of(g));
        _backwardColumns(new KernelConfig(g.N * g.Tokens, _groupSize), v, Args.Of(g));
    }

    /// <summary>True when the kernels take these sizes: the row's logits fit shared memory and every index fits 32 bits.</summary>
    public static bool Fits(AttentionGeometry g) =>
        g.Tokens <= MaxTokens && (long)g.N * g.Tokens * g.Tokens <= int.MaxValue && g.QkvSize <= int.MaxValue;

    /// <summary>Throws a clear error unless <see cref="Fits"/>.</summary>
    internal static void Check(AttentionGeometry g)
    {
        if (g.Tokens > MaxTokens)
            throw new ArgumentException($"fused attention (ILGPU): {g.Tokens} tokens exceed the {MaxTokens} a group's shared memory holds.");
        if ((long)g.N * g.Tokens * g.Tokens > int.MaxValue || g.QkvSize > int.MaxValue)
            throw new ArgumentException($"fused attention (ILGPU): {g.N} images of {g.Tokens} tokens overflow its 32-bit indices; split the batch.");
    }

    private static int Q(Args a, int n, int c, int i) => ((n * a.C + c) * 3 + 0) * a.T + i;
    private static int K(Args a, int n, int c, int j) => ((n * a.C + c) * 3 + 1) * a.T + j;
    private static int V(Args a, int n, int c, int j) => ((n * a.C + c) * 3 + 2) * a.T + j;
    private static int O(Args a, int n, int c, int i) => (n * a.C + c) * a.T + i;

    private static float Logit(AttentionViews v, Args a, int n, int i, int j)
    {
        float s = 0;
        for (int c = 0; c < a.C; c++) s += v.Qkv[Q(a, n, c, i)] * v.Qkv[K(a, n, c, j)];
        return a.Scale * s;
    }

    // Group (n, i): logits into shared memory, softmax by group trees, then out[c, i] for the channels this thread strides.
    private static void ForwardKernel(AttentionViews v, Args a)
    {
        var p = SharedMemory.Allocate<float>(MaxTokens);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Width);
        int row = Grid.IdxX, n = row / a.T, i = row % a.T, t = Group.IdxX;
        float max = float.NegativeInfinity;
        for (int j = t; j < a.T; j += Group.DimX)
        {
            float s = Logit(v, a, n, i, j);
            p[j] = s;
            max = MathF.Max(max, s);
        }
        max = GroupReduce.Max(scratch, max);
        float sum = 0;
        for (int j = t; j < a.T; j += Group.DimX)
        {
            float e = MathF.Exp(p[j] - max);
            p[j] = e;
            sum += e;
        }
        sum = GroupReduce.Sum(scratch, sum); // its barriers also publish every thread's p[j]
        if (t == 0) v.Lse[row] = max + MathF.Log(sum);
        float inv = 1f / sum;
        for (int c = t; c < a.C; c += Group.DimX)
        {
            float acc = 0;
            for (int j = 0; j < a.T; j++) acc += p[j] * v.Qkv[V(a, n, c, j)];
            v.Out[O(a, n, c, i)] = acc * inv;
        }
    }

    // Group (n, i): D_i, then P_ij and gS_ij = scale·P_ij·(gOut_i·v_j − D_i) for every key (to scratch, and gS to shared
    // memory), then gq[c, i] = Σ_j gS_ij·k[c, j].
    private static void BackwardRowsKernel(AttentionViews v, Args a)
    {
        var gs = SharedMemory.Allocate<float>(MaxTokens);
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Width);
        int row = Grid.IdxX, n = row / a.T, i = row % a.T, t = Group.IdxX;
        float d = 0;
        for (int c = t; c < a.C; c += Group.DimX) d += v.GOut[O(a, n, c, i)] * v.Out[O(a, n, c, i)];
        d = GroupReduce.Sum(scratch, d);
        float lse = v.Lse[row];
        for (int j = t; j < a.T; j += Group.DimX)
        {
            float p = MathF.Exp(Logit(v, a, n, i, j) - lse);
            float gp = 0;
            for (int c = 0; c < a.C; c++) gp += v.GOut[O(a, n, c, i)] * v.Qkv[V(a, n, c, j)];
            float g = a.Scale * p * (gp - d);
            v.P[row * a.T + j] = p;
            v.GS[row * a.T + j] = g;
            gs[j] = g;
        }
        Group.Barrier();
        for (int c = t; c < a.C; c += Group.DimX)
        {
            float acc = 0;
            for (int j = 0; j < a.T; j++) acc += gs[j] * v.Qkv[K(a, n, c, j)];
            v.GQkv[Q(a, n, c, i)] = acc;
        }
    }

    // Group (n, j): gv[c, j] = Σ_i P_ij·gOut[c, i] and gk[c, j] = Σ_i gS_ij·q[c, i], for the channels this thread strides.
    private static void BackwardColumnsKernel(AttentionViews v, Args a)
    {
        int col = Grid.IdxX, n = col / a.T, j = col % a.T;
        for (int c = Group.IdxX; c < a.C; c += Group.DimX)
        {
            float gv = 0, gk = 0;
            for (int i = 0; i < a.T; i++)
            {
                int e = (n * a.T + i) * a.T + j;
                gv += v.P[e] * v.GOut[O(a, n, c, i)];
                gk += v.GS[e] * v.Qkv[Q(a, n, c, i)];
            }
            v.GQkv[V(a, n, c, j)] = gv;
            v.GQkv[K(a, n, c, j)] = gk;
        }
    }
}
