using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// The fast CPU paths a training step leans on (FastCpuBackend.GroupNorm.cs, the suffix broadcasts of
/// FastCpuBackend.Binary.cs) at sizes the op fixtures' small awkward shapes do not reach: whole SIMD vectors with
/// tails, several (sample, group) work items per thread, and outputs above the 64K-element parallel threshold. Each case
/// runs the op fixture's own float32-vs-float64 check, which covers Device.Cpu against the reference.
/// </summary>
public class FastStepOpsTests
{
    public static IEnumerable<TestCaseData> GroupNormCases() =>
        from a in new GroupNormArgs[]
        {
            new(3, 12, 37, 4, 1e-6f),      // 37-pixel channels: vectors plus a tail
            new(2, 64, 1024, 16, 1e-6f),   // a U-Net level-0 norm (two channels per group)
            new(5, 24, 64, 6, 1e-5f),
        }
        from silu in new[] { false, true }
        from affine in new[] { true, false }
        select new TestCaseData(a with { Silu = silu }, affine);

    [TestCaseSource(nameof(GroupNormCases))]
    public void GroupNorm_fast_path_matches_float64(GroupNormArgs a, bool affine) =>
        new GroupNormOpTests().Float32_ops_match_float64(a, affine);

    public static IEnumerable<TestCaseData> BinaryCases() =>
        from op in Enum.GetValues<BinaryOp>()
        from p in new (int[] A, int[] B)[]
        {
            ([4, 64, 16, 17], [4, 64, 1, 1]),   // + affine(emb): 69 632 elements, parallel, 272-element rows
            ([3, 5, 33, 1], [3, 1, 1, 1]),       // per-sample scalar over 165 elements (a tail)
            ([4, 64, 16, 17], [4, 64, 16, 17]),  // same shape, split into chunks, ragged last chunk
            ([2, 3, 7, 9], [1]),                  // one-element operand
            ([1, 1, 1], [2, 8, 100]),             // the broadcasting operand on the left
        }
        select new TestCaseData(op, p.A, p.B);

    [TestCaseSource(nameof(BinaryCases))]
    public void Binary_fast_path_matches_float64(BinaryOp op, int[] a, int[] b) =>
        new BinaryOpTests().Float32_forward_and_backward_match_float64(op, a, b);
}
