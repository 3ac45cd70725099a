using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>Sgemm against a float64 triple loop, for every micro-kernel this CPU runs.</summary>
public class SgemmTests
{
    private static IEnumerable<SgemmKernel> Kernels => Enum.GetValues<SgemmKernel>().Where(Sgemm.IsSupported);

    // (m, n, k): single rows/columns, sizes off every tile (MR 4/6/8, NR 16/32), a K split in two slices
    // (KC = 256), M across two row blocks (MC = 192), and one large enough to run in parallel.
    private static readonly (int M, int N, int K)[] Shapes =
        [(1, 1, 1), (1, 37, 5), (13, 1, 9), (7, 33, 17), (9, 70, 300), (200, 45, 31), (97, 130, 101)];

    /// <summary>C = α·op(A)·op(B) + β·C in float64, row-major with leading dimensions.</summary>
    private static double[] Reference(bool ta, bool tb, int m, int n, int k, double alpha, double[] a, int lda,
        double[] b, int ldb, double beta, double[] c, int ldc)
    {
        var r = (double[])c.Clone();
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++)
                s += a[ta ? p * lda + i : i * lda + p] * b[tb ? j * ldb + p : p * ldb + j];
            r[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]);
        }
        return r;
    }

    [Test]
    public void Matches_float64_for_every_transpose_and_shape(
        [ValueSource(nameof(Kernels))] SgemmKernel kernel, [Values] bool transA, [Values] bool transB,
        [Values(0f, 0.7f)] float beta, [Values] bool parallel)
    {
        var rng = Rand.ForTest();
        foreach (var (m, n, k) in Shapes)
        {
            // Leading dimensions wider than the matrices, so a stride bug cannot hide.
            int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5;
            var a = Rand.Normal(rng, (transA ? k : m) * lda);
            var b = Rand.Normal(rng, (transB ? n : k) * ldb);
            var c = Rand.Normal(rng, m * ldc);
            const float alpha = 1.3f;
            var expected = Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

            // β = 0: C must be write-only, so poison it; the gaps between rows (j ≥ n) must stay untouched.
            var c32 = beta == 0 ? Rand.Poison(c.Length) : Check.ToFloat(c);
            var gapBefore = Gaps(c32, m, n, ldc);
            Sgemm.Multiply(transA, transB, m, n, k, alpha, Check.ToFloat(a), lda, Check.ToFloat(b), ldb, beta, c32, ldc,
                parallel, kernel);

            string what = $"{kernel} transA={transA} transB={transB} β={beta} m={m} n={n} k={k}";
            Check.Close(Inside(c32, m, n, ldc), Inside(expected, m, n, ldc), 1e-5, what);
            Assert.That(Gaps(c32, m, n, ldc), Is.EqualTo(gapBefore).AsCollection, $"{what}: wrote outside the m×n block");
        }
    }

    [Test]
    public void Zero_inner_dimension_scales_c_by_beta()
    {
        var c = new float[] { 1, 2, 3, 4 };
        Sgemm.Multiply(false, false, 2, 2, 0, 1f, [], 1, [], 2, 0.5f, c, 2);
        Assert.That(c, Is.EqualTo(new[] { 0.5f, 1, 1.5f, 2 }).AsCollection);
        var poisoned = Rand.Poison(4);
        Sgemm.Multiply(false, false, 2, 2, 0, 1f, [], 1, [], 2, 0f, poisoned, 2);
        Assert.That(poisoned, Is.All.EqualTo(0f));
    }

    [Test]
    public void Bad_leading_dimension_or_short_buffer_names_the_operand()
    {
        var a = new float[6]; var b = new float[6]; var c = new float[4];
        var e = Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 2, 2, 3, 1f, a, 2, b, 2, 0f, c, 2))!;
        Assert.That(e.Message, Does.Contain("leading dimension of A").And.Contain("2×3"));
        e = Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, true, 2, 3, 3, 1f, a, 3, b, 3, 0f, c, 3))!;
        Assert.That(e.Message, Does.Contain("B has 6 elements").And.Contain("3×3"));
        e = Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 3))!;
        Assert.That(e.Message, Does.Contain("C has 4 elements"));
    }

    private static double[] Inside(ReadOnlySpan<double> c, int m, int n, int ldc)
    {
        var r = new double[m * n];
        for (int i = 0; i < m; i++) c.Slice(i * ldc, n).CopyTo(r.AsSpan(i * n));
        return r;
    }

    private static float[] Inside(ReadOnlySpan<float> c, int m, int n, int ldc)
    {
        var r = new float[m * n];
        for (int i = 0; i < m; i++) c.Slice(i * ldc, n).CopyTo(r.AsSpan(i * n));
        return r;
    }

    /// <summary>The elements between rows (columns n..ldc), as bit patterns so NaN compares equal to itself.</summary>
    private static int[] Gaps(float[] c, int m, int n, int ldc)
    {
        var g = new List<int>();
        for (int i = 0; i < m; i++)
        for (int j = n; j < ldc; j++)
            g.Add(BitConverter.SingleToInt32Bits(c[i * ldc + j]));
        return [.. g];
    }
}
