using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class MatMulOpTests
{
    private static readonly Device[] Devices = [Device.CpuReference, Device.Cpu];

    // Awkward sizes: batch 1, M or N = 1, K not a multiple of 4, all four transpose combinations, Alpha ≠ 1.
    public static IEnumerable<GemmArgs> Gemms()
    {
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        {
            yield return new GemmArgs(1, 3, 5, 7, ta, tb);
            yield return new GemmArgs(3, 4, 1, 5, ta, tb, Alpha: 0.75f);
            yield return new GemmArgs(2, 1, 6, 9, ta, tb);
        }
    }

    private static double[] Gemm(double[] a, double[] b, GemmArgs g)
    {
        var c = new double[g.CSize];
        MatMulRef.Gemm<double>(a, b, c, g);
        return c;
    }

    /// <summary>The stored transpose of each [rows, cols] matrix of a batch.</summary>
    private static double[] Transpose(double[] x, int batch, int rows, int cols)
    {
        var t = new double[x.Length];
        for (int p = 0; p < batch; p++)
        for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            t[p * rows * cols + j * rows + i] = x[p * rows * cols + i * cols + j];
        return t;
    }

    [Test]
    public void Transposed_operands_are_read_as_their_transposes()
    {
        var rng = Rand.ForTest();
        var g = new GemmArgs(2, 3, 5, 7, Alpha: 1.5f);
        var a = Rand.Normal(rng, g.ASize);
        var b = Rand.Normal(rng, g.BSize);
        var plain = Gemm(a, b, g);
        // Also against the definition, Σ_l A[i, l]·B[l, j], for one entry.
        double c = 0;
        for (int l = 0; l < g.K; l++) c += a[g.M * g.K + 2 * g.K + l] * b[g.K * g.N + l * g.N + 4];
        Assert.That(plain[g.M * g.N + 2 * g.N + 4], Is.EqualTo(1.5 * c).Within(1e-12));
        var at = Transpose(a, g.Batch, g.M, g.K);
        var bt = Transpose(b, g.Batch, g.K, g.N);
        Check.Close(Gemm(at, b, g with { TransA = true }), plain, 1e-15, "Aᵀ stored");
        Check.Close(Gemm(a, bt, g with { TransB = true }), plain, 1e-15, "Bᵀ stored");
        Check.Close(Gemm(at, bt, g with { TransA = true, TransB = true }), plain, 1e-15, "both stored transposed");
    }

    [TestCaseSource(nameof(Gemms))]
    public void Gemm_gradient_matches_finite_differences_in_float64(GemmArgs g)
    {
        var rng = Rand.ForTest();
        GradCheck.Run(a => Gemm(a[0], a[1], g), (a, gc) =>
        {
            var ga = new double[g.ASize]; var gb = new double[g.BSize];
            MatMulRef.GemmBackward<double>(a[0], a[1], gc, ga, gb, g);
            return [ga, gb];
        }, [Rand.Normal(rng, g.ASize), Rand.Normal(rng, g.BSize)], what: g.ToString());
    }

    [TestCaseSource(nameof(Gemms))]
    public void Backend_gemm_accumulates_with_beta_and_ignores_c_when_beta_is_zero(GemmArgs g)
    {
        var rng = Rand.ForTest();
        var a = Rand.Normal(rng, g.ASize);
        var b = Rand.Normal(rng, g.BSize);
        var c0 = Rand.Normal(rng, g.CSize);
        var ab = Gemm(a, b, g);
        var accumulated = new double[g.CSize];
        for (int i = 0; i < ab.Length; i++) accumulated[i] = ab[i] - 0.5 * c0[i];
        foreach (var device in Devices)
        {
            using var at = Tensor.FromArray(Check.ToFloat(a), new Shape(g.ASize), device);
            using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(g.BSize), device);
            using var poisoned = Tensor.FromArray(Rand.Poison(g.CSize), new Shape(g.CSize), device);
            device.Backend.Gemm(at, bt, poisoned, g with { Beta = 0f });
            Check.Close(poisoned.ToArray(), ab, 1e-5, $"beta = 0 over NaNs on {device}");
            using var ct = Tensor.FromArray(Check.ToFloat(c0), new Shape(g.CSize), device);
            device.Backend.Gemm(at, bt, ct, g with { Beta = -0.5f });
            Check.Close(ct.ToArray(), accumulated, 1e-5, $"beta = -0.5 on {device}");
        }
    }

    /// <summary>Runs an op in float32 on every CPU device and compares output and input gradients with float64.</summary>
    private static void CompareWithFloat64(Func<Tensor[], Tensor> op, (double[] Data, Shape Shape)[] inputs,
        double[] y64, double[] gy, double[][] grads64, string what)
    {
        foreach (var device in Devices)
        {
            using var tape = new Tape();
            var ts = inputs.Select(i => Tensor.FromArray(Check.ToFloat(i.Data), i.Shape, device).RequireGrad()).ToArray();
            var y = op(ts);
            Check.Close(y.ToArray(), y64, 1e-5, $"{what} forward on {device}");
            tape.Backward(y, Tensor.FromArray(Check.ToFloat(gy), y.Shape, device));
            for (int k = 0; k < ts.Length; k++)
                Check.Close(ts[k].Grad!.ToArray(), grads64[k], 1e-5, $"{what} gradient of input {k} on {device}");
            foreach (var t in ts) t.Dispose();
        }
    }

    [TestCase(1, 1, 1)]
    [TestCase(5, 7, 3)]
    [TestCase(2, 13, 6)]
    public void MatMul_matches_float64(int m, int k, int n)
    {
        var rng = Rand.ForTest();
        var g = new GemmArgs(1, m, n, k);
        var a = Rand.Normal(rng, g.ASize); var b = Rand.Normal(rng, g.BSize); var gy = Rand.Normal(rng, g.CSize);
        var ga = new double[g.ASize]; var gb = new double[g.BSize];
        MatMulRef.GemmBackward<double>(a, b, gy, ga, gb, g);
        CompareWithFloat64(t => Ops_.MatMul(t[0], t[1]), [(a, new Shape(m, k)), (b, new Shape(k, n))],
            Gemm(a, b, g), gy, [ga, gb], "matmul");
    }

    [TestCaseSource(nameof(Gemms))]
    public void BatchedMatMul_matches_float64(GemmArgs g)
    {
        g = g with { Alpha = 1f }; // the op has no scale
        var rng = Rand.ForTest();
        var a = Rand.Normal(rng, g.ASize); var b = Rand.Normal(rng, g.BSize); var gy = Rand.Normal(rng, g.CSize);
        var ga = new double[g.ASize]; var gb = new double[g.BSize];
        MatMulRef.GemmBackward<double>(a, b, gy, ga, gb, g);
        var aShape = g.TransA ? new Shape(g.Batch, g.K, g.M) : new Shape(g.Batch, g.M, g.K);
        var bShape = g.TransB ? new Shape(g.Batch, g.N, g.K) : new Shape(g.Batch, g.K, g.N);
        CompareWithFloat64(t => Ops_.BatchedMatMul(t[0], t[1], g.TransA, g.TransB), [(a, aShape), (b, bShape)],
            Gemm(a, b, g), gy, [ga, gb], g.ToString());
    }

    // Linear written out from its definition, y[r, o] = Σ_i x[r, i]·w[o, i] + bias[o], independently of the GEMM.
    private static double[] LinearDef(double[] x, double[] w, double[] bias, int rows, int inF, int outF)
    {
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
        for (int o = 0; o < outF; o++)
        {
            double s = bias[o];
            for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
            y[r * outF + o] = s;
        }
        return y;
    }

    [TestCase(1, 5, 3)]
    [TestCase(4, 9, 7)]
    [TestCase(6, 1, 2)]
    public void Linear_gradient_matches_finite_differences_in_float64(int rows, int inF, int outF)
    {
        var rng = Rand.ForTest();
        var g = new GemmArgs(1, rows, outF, inF, TransB: true);
        GradCheck.Run(a => LinearDef(a[0], a[1], a[2], rows, inF, outF), (a, gy) =>
        {
            var gx = new double[a[0].Length]; var gw = new double[a[1].Length]; var gb = new double[outF];
            MatMulRef.GemmBackward<double>(a[0], a[1], gy, gx, gw, g);
            MatMulRef.SumRows<double>(gy, gb);
            return [gx, gw, gb];
        }, [Rand.Normal(rng, rows * inF), Rand.Normal(rng, outF * inF), Rand.Normal(rng, outF)]);
    }

    [TestCase(1, 5, 3, true)]
    [TestCase(4, 9, 7, true)]
    [TestCase(3, 6, 5, false)]
    public void Linear_matches_float64(int rows, int inF, int outF, bool withBias)
    {
        var rng = Rand.ForTest();
        var g = new GemmArgs(1, rows, outF, inF, TransB: true);
        var x = Rand.Normal(rng, rows * inF); var w = Rand.Normal(rng, outF * inF);
        var b = withBias ? Rand.Normal(rng, outF) : new double[outF];
        var gy = Rand.Normal(rng, rows * outF);
        var gx = new double[x.Length]; var gw = new double[w.Length]; var gb = new double[outF];
        MatMulRef.GemmBackward<double>(x, w, gy, gx, gw, g);
        MatMulRef.SumRows<double>(gy, gb);
        var y = LinearDef(x, w, b, rows, inF, outF);
        (double[], Shape)[] inputs = [(x, new Shape(rows, inF)), (w, new Shape(outF, inF))];
        if (withBias)
            CompareWithFloat64(t => Ops_.Linear(t[0], t[1], t[2]), [.. inputs, (b, new Shape(outF))], y, gy, [gx, gw, gb], "linear");
        else
            CompareWithFloat64(t => Ops_.Linear(t[0], t[1]), inputs, y, gy, [gx, gw], "linear without bias");
    }

    [Test]
    public void Gradients_flow_only_to_inputs_that_require_them()
    {
        var rng = Rand.ForTest();
        using var tape = new Tape();
        using var x = Tensor.Randn(new Shape(3, 4), rng);
        using var w = Tensor.Randn(new Shape(2, 4), rng).RequireGrad();
        var y = Ops_.Linear(x, w);
        tape.Backward(y, Tensor.Randn(y.Shape, rng));
        Assert.That(x.Grad, Is.Null);
        Assert.That(w.Grad, Is.Not.Null);
    }

    [Test]
    public void Mismatched_shapes_name_the_op_and_both_shapes()
    {
        using var a = Tensor.Zeros(new Shape(2, 3));
        using var b = Tensor.Zeros(new Shape(4, 5));
        var e = Assert.Throws<ArgumentException>(() => Ops_.MatMul(a, b))!;
        Assert.That(e.Message, Does.Contain("matmul").And.Contain("[2, 3]").And.Contain("[4, 5]"));

        using var q = Tensor.Zeros(new Shape(2, 5, 4));
        using var k = Tensor.Zeros(new Shape(3, 6, 4));
        e = Assert.Throws<ArgumentException>(() => Ops_.BatchedMatMul(q, k, transB: true))!;
        Assert.That(e.Message, Does.Contain("batched matmul").And.Contain("[2, 5, 4]").And.Contain("[3, 6, 4]"));
        Assert.Throws<ArgumentException>(() => Ops_.BatchedMatMul(q, k)); // inner 4 vs 6
        Assert.Throws<ArgumentException>(() => Ops_.BatchedMatMul(a, b));  // 2-D

        using var x = Tensor.Zeros(new Shape(3, 4));
        using var w = Tensor.Zeros(new Shape(2, 5));
        e = Assert.Throws<ArgumentException>(() => Ops_.Linear(x, w))!;
        Assert.That(e.Message, Does.Contain("linear").And.Contain("[3, 4]").And.Contain("[2, 5]"));
        using var w2 = Tensor.Zeros(new Shape(2, 4));
        using var bias = Tensor.Zeros(new Shape(3));
        e = Assert.Throws<ArgumentException>(() => Ops_.Linear(x, w2, bias))!;
        Assert.That(e.Message, Does.Contain("bias [3]").And.Contain("[2]"));

        using var empty = Tensor.Zeros(new Shape(0, 3));
        using var c = Tensor.Zeros(new Shape(3, 2));
        e = Assert.Throws<ArgumentException>(() => Ops_.MatMul(empty, c))!;
        Assert.That(e.Message, Does.Contain("matmul").And.Contain("empty dimension"));
    }
}
