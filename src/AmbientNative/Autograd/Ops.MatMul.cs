using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>Matrix product a [M, K] · b [K, N] → [M, N].</summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        if (a.Rank != 2 || b.Rank != 2 || a.Shape[1] != b.Shape[0])
            throw new ArgumentException($"matmul: cannot multiply a {a.Shape} by b {b.Shape} (need a [M, K] and b [K, N]).");
        var g = new GemmArgs(1, a.Shape[0], b.Shape[1], a.Shape[1]);
        return GemmOp("matmul", a, b, null, g, new Shape(g.M, g.N));
    }

    /// <summary>
    /// Batched product op(a) · op(b) → [B, M, N], where op(a) is a [B, M, K] or, with <paramref name="transA"/>,
    /// the transpose of a [B, K, M]; likewise op(b) is b [B, K, N] or the transpose of b [B, N, K]. The transposes
    /// are read in place (attention's Q·Kᵀ and P·V need no copies).
    /// </summary>
    public static Tensor BatchedMatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        string need = $"need a [B, {(transA ? "K, M" : "M, K")}] and b [B, {(transB ? "N, K" : "K, N")}]";
        if (a.Rank != 3 || b.Rank != 3)
            throw new ArgumentException($"batched matmul: a {a.Shape} and b {b.Shape} must both be 3-D ({need}).");
        int batch = a.Shape[0];
        int m = transA ? a.Shape[2] : a.Shape[1], ka = transA ? a.Shape[1] : a.Shape[2];
        int kb = transB ? b.Shape[2] : b.Shape[1], n = transB ? b.Shape[1] : b.Shape[2];
        if (b.Shape[0] != batch || ka != kb)
            throw new ArgumentException($"batched matmul: a {a.Shape} and b {b.Shape} do not match (transA={transA}, transB={transB}: {need}).");
        var g = new GemmArgs(batch, m, n, ka, transA, transB);
        return GemmOp("batched matmul", a, b, null, g, new Shape(batch, m, n));
    }

    /// <summary>Fully connected layer y = x·wᵀ + bias, with x [N, In], w [Out, In] (PyTorch layout), bias [Out] or null.</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? bias = null)
    {
        if (x.Rank != 2 || w.Rank != 2 || x.Shape[1] != w.Shape[1])
            throw new ArgumentException($"linear: input {x.Shape} and weight {w.Shape} do not match (need x [N, In] and w [Out, In]).");
        int outF = w.Shape[0];
        if (bias != null && (bias.Rank != 1 || bias.Shape[0] != outF))
            throw new ArgumentException($"linear: bias {bias.Shape} must be [{outF}] for weight {w.Shape}.");
        // The bias is written into y first and the GEMM accumulates onto it (Beta = 1): no extra pass, no temporary.
        var g = new GemmArgs(1, x.Shape[0], outF, x.Shape[1], TransB: true, Beta: bias == null ? 0f : 1f);
        return GemmOp("linear", x, w, bias, g, new Shape(g.M, g.N));
    }

    /// <summary>c = op(a)·op(b) (+ bias broadcast over rows), recorded with the gradients of every input.</summary>
    private static Tensor GemmOp(string op, Tensor a, Tensor b, Tensor? bias, GemmArgs g, Shape shape)
    {
        SameDevice(op, a, b);
        if (bias != null) SameDevice(op, a, bias);
        g.Validate(op);
        var c = New(a, shape);
        if (bias != null) B(a).BroadcastRows(bias, c);
        B(a).Gemm(a, b, c, g);
        Tensor[] inputs = bias == null ? [a, b] : [a, b, bias];
        return Tape.Record(c, inputs, gc =>
        {
            if (a.RequiresGrad)
            {
                var ga = Tape.GradientBuffer(a);
                var (args, gradFirst) = g.GradA();
                Fill(ga, () => { if (gradFirst) B(a).Gemm(gc, b, ga, args); else B(a).Gemm(b, gc, ga, args); });
                Tape.Accumulate(a, ga);
            }
            if (b.RequiresGrad)
            {
                var gb = Tape.GradientBuffer(b);
                var (args, gradFirst) = g.GradB();
                Fill(gb, () => { if (gradFirst) B(a).Gemm(gc, a, gb, args); else B(a).Gemm(a, gc, gb, args); });
                Tape.Accumulate(b, gb);
            }
            if (bias is { RequiresGrad: true })
            {
                var gbias = Tape.GradientBuffer(bias);
                Fill(gbias, () => B(a).SumRows(gc, gbias));
                Tape.Accumulate(bias, gbias);
            }
        });
    }
}
