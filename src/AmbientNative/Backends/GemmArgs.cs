namespace AmbientNative.Backends;

/// <summary>
/// A batched GEMM over contiguous row-major operands, packed batch after batch (cuBLAS's strided-batched
/// GEMM with the leading dimensions implied by the transposes). For every b &lt; Batch:
/// C[b] = Alpha·op(A[b])·op(B[b]) + Beta·C[b], with op(A) M×K (A stored [M, K], or [K, M] when TransA),
/// op(B) K×N (B stored [K, N], or [N, K] when TransB) and C [M, N].
/// Beta = 0 makes C write-only, as in BLAS: its old contents are never read, so stale NaNs cannot leak in.
/// </summary>
public readonly record struct GemmArgs(int Batch, int M, int N, int K, bool TransA = false, bool TransB = false,
    float Alpha = 1f, float Beta = 0f)
{
    public int ASize => Batch * M * K;
    public int BSize => Batch * K * N;
    public int CSize => Batch * M * N;
    public double Flops => 2.0 * Batch * M * N * K;

    public override string ToString() =>
        $"GEMM(batch {Batch}, M {M}, N {N}, K {K}, transA {TransA}, transB {TransB}, alpha {Alpha}, beta {Beta})";

    /// <param name="op">The op that asked for this GEMM, named in the error.</param>
    public void Validate(string op = "gemm")
    {
        if (Batch <= 0 || M <= 0 || N <= 0 || K <= 0)
            throw new ArgumentException($"{op}: {this} has an empty dimension; every dimension must be positive.");
    }

    /// <summary>Throws unless the operand lengths are what this GEMM reads and writes.</summary>
    public void CheckSizes(int a, int b, int c)
    {
        if (a != ASize || b != BSize || c != CSize)
            throw new ArgumentException($"GEMM {this} needs operands of {ASize}, {BSize} and {CSize} elements; got {a}, {b} and {c}.");
    }

    // The gradients of C = Alpha·op(A)·op(B) are GEMMs again; only the operand order and the transposes change.
    // With gC = ∂L/∂C:  ∂L/∂op(A) = Alpha·gC·op(B)ᵀ  and  ∂L/∂op(B) = Alpha·op(A)ᵀ·gC,
    // transposed back when A or B is stored transposed. Each case reads its operands in their stored layout.

    /// <summary>
    /// The GEMM that writes gA = ∂L/∂A (A's stored shape). When <c>GradFirst</c> it is Gemm(gC, B, gA, Args),
    /// otherwise Gemm(B, gC, gA, Args).
    /// </summary>
    public (GemmArgs Args, bool GradFirst) GradA() => TransA
        ? (new GemmArgs(Batch, K, M, N, TransA: TransB, TransB: true, Alpha), false)     // gA = op(B)·gCᵀ   [K, M]
        : (new GemmArgs(Batch, M, K, N, TransA: false, TransB: !TransB, Alpha), true);   // gA = gC·op(B)ᵀ   [M, K]

    /// <summary>
    /// The GEMM that writes gB = ∂L/∂B (B's stored shape). When <c>GradFirst</c> it is Gemm(gC, A, gB, Args),
    /// otherwise Gemm(A, gC, gB, Args).
    /// </summary>
    public (GemmArgs Args, bool GradFirst) GradB() => TransB
        ? (new GemmArgs(Batch, N, K, M, TransA: true, TransB: TransA, Alpha), true)      // gB = gCᵀ·op(A)   [N, K]
        : (new GemmArgs(Batch, K, N, M, TransA: !TransA, TransB: false, Alpha), false);  // gB = op(A)ᵀ·gC   [K, N]
}
