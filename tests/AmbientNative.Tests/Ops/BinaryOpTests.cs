using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class BinaryOpTests
{
    // The broadcasts the diffusion code uses (per-sample scalars, per-channel, [C,1,1], per-column), both
    // operands broadcasting at once, broadcasting on the left operand, rank 0, and equal shapes.
    private static readonly (int[] A, int[] B)[] Pairs =
    [
        ([2, 3, 4, 5], [2, 1, 1, 1]),
        ([2, 3, 4, 5], [1, 3, 1, 1]),
        ([1, 3, 2, 5], [3, 1, 1]),
        ([2, 3, 4, 5], [5]),
        ([3, 1, 5], [1, 4, 1]),
        ([1, 3, 1, 1], [2, 3, 4, 5]),
        ([7], []),
        ([2, 3, 5], [2, 3, 5]),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        from op in Enum.GetValues<BinaryOp>()
        from p in Pairs
        select new TestCaseData(op, p.A, p.B);

    // b is kept away from zero so Div is well conditioned.
    private static (double[] A, double[] B) Inputs(Rng rng, Shape a, Shape b)
    {
        var x = Rand.Normal(rng, a.Numel);
        var y = Rand.Uniform(rng, b.Numel, 0.5, 2.0);
        var sign = Rand.Normal(rng, b.Numel);
        for (int i = 0; i < y.Length; i++) if (sign[i] < 0) y[i] = -y[i];
        return (x, y);
    }

    [TestCaseSource(nameof(Cases))]
    public void Gradient_matches_finite_differences_in_float64(BinaryOp op, int[] a, int[] b)
    {
        Shape sa = a, sb = b, sy = Broadcast.ResultShape(sa, sb, "test");
        var (x, y) = Inputs(Rand.ForTest(), sa, sb);
        GradCheck.Run(
            v => { var o = new double[sy.Numel]; BinaryRef.Forward<double>(op, v[0], sa, v[1], sb, o, sy); return o; },
            (v, g) =>
            {
                var ga = new double[sa.Numel]; var gb = new double[sb.Numel];
                BinaryRef.Backward<double>(op, v[0], sa, v[1], sb, g, sy, ga, gb);
                return [ga, gb];
            },
            [x, y], what: $"{op} {sa} {sb}");
    }

    [TestCaseSource(nameof(Cases))]
    public void Float32_forward_and_backward_match_float64(BinaryOp op, int[] a, int[] b)
    {
        Shape sa = a, sb = b, sy = Broadcast.ResultShape(sa, sb, "test");
        var rng = Rand.ForTest();
        var (x, y) = Inputs(rng, sa, sb);
        var g = Rand.Normal(rng, sy.Numel);
        var o64 = new double[sy.Numel]; BinaryRef.Forward<double>(op, x, sa, y, sb, o64, sy);
        var ga64 = new double[sa.Numel]; var gb64 = new double[sb.Numel];
        BinaryRef.Backward<double>(op, x, sa, y, sb, g, sy, ga64, gb64);

        foreach (var device in CpuDevices.All)
        {
            using var tape = new Tape();
            using var at = Tensor.FromArray(Check.ToFloat(x), sa, device).RequireGrad();
            using var bt = Tensor.FromArray(Check.ToFloat(y), sb, device).RequireGrad();
            var ot = Ops_.Binary(op, at, bt);
            Assert.That(ot.Shape, Is.EqualTo(sy));
            Check.Close(ot.ToArray(), o64, 1e-5, $"{op} forward on {device}");
            tape.Backward(ot, Tensor.FromArray(Check.ToFloat(g), sy, device));
            Check.Close(at.Grad!.ToArray(), ga64, 1e-5, $"{op} grad a on {device}");
            Check.Close(bt.Grad!.ToArray(), gb64, 1e-5, $"{op} grad b on {device}");
        }
    }

    [Test]
    public void Only_inputs_that_require_grad_get_one_and_x_times_x_accumulates()
    {
        var rng = Rand.ForTest();
        using var tape = new Tape();
        using var x = Tensor.Randn(new Shape(2, 3), rng).RequireGrad();
        using var c = Tensor.Randn(new Shape(3), rng);
        var y = Ops_.Mul(Ops_.Mul(x, x), c);  // y = x²·c, dy/dx = 2·x·c
        tape.Backward(y, Tensor.Full(y.Shape, 1f));
        Assert.That(c.Grad, Is.Null);
        var xs = x.ToArray(); var cs = c.ToArray(); var gx = x.Grad!.ToArray();
        for (int i = 0; i < 6; i++) Assert.That(gx[i], Is.EqualTo(2 * xs[i] * cs[i % 3]).Within(1e-5));
    }

    [Test]
    public void AddScaled_gradient_matches_finite_differences_in_float64()
    {
        var rng = Rand.ForTest();
        const double scale = 0.7071067811865476;
        GradCheck.Run(
            v => { var o = new double[v[0].Length]; BinaryRef.AddScaled<double>(v[0], v[1], scale, o); return o; },
            (v, g) =>
            {
                var ga = new double[g.Length]; var gb = new double[g.Length];
                BinaryRef.AddScaledBackward<double>(g, scale, ga, gb);
                return [ga, gb];
            },
            [Rand.Normal(rng, 37), Rand.Normal(rng, 37)], what: "add_scaled");
    }

    // A residual junction (h + s)·√½ as one op: the composition's values bit for bit on every CPU backend (the sum
    // is rounded, then scaled, in both; random inputs have no −0, which only the composition turns into +0), the
    // float64 reference within float rounding, each operand alone needing a gradient, and one tensor as both.
    [TestCase(1, 3, 5, 7)]
    [TestCase(4, 16, 8, 8)]
    public void AddScaled_equals_add_then_scale_and_the_float64_reference(int n, int c, int h, int w)
    {
        var rng = Rand.ForTest();
        Shape shape = new(n, c, h, w);
        var a = Rand.Normal(rng, shape.Numel); var b = Rand.Normal(rng, shape.Numel); var g = Rand.Normal(rng, shape.Numel);
        float scale = MathF.Sqrt(0.5f);
        var y64 = new double[shape.Numel]; BinaryRef.AddScaled<double>(a, b, scale, y64);
        var g64 = g.Select(v => scale * v).ToArray();
        foreach (var device in CpuDevices.All)
        {
            float[][] Run(bool fused)
            {
                using var tape = new Tape();
                using var at = Tensor.FromArray(Check.ToFloat(a), shape, device).RequireGrad();
                using var bt = Tensor.FromArray(Check.ToFloat(b), shape, device).RequireGrad();
                var y = fused ? Ops_.AddScaled(at, bt, scale) : (at + bt) * scale;
                var yv = y.ToArray();
                tape.Backward(y, Tensor.FromArray(Check.ToFloat(g), shape, device));
                return [yv, at.Grad!.ToArray(), bt.Grad!.ToArray()];
            }
            var f = Run(fused: true);
            var composed = Run(fused: false);
            for (int k = 0; k < 3; k++) Assert.That(f[k], Is.EqualTo(composed[k]), $"output {k} on {device}");
            Check.Close(f[0], y64, 1e-6, $"forward on {device}");
            Check.Close(f[1], g64, 1e-6, $"grad a on {device}");
            Check.Close(f[2], g64, 1e-6, $"grad b on {device}");

            using var tape2 = new Tape();
            using var x = Tensor.FromArray(Check.ToFloat(a), shape, device).RequireGrad();
            using var constant = Tensor.FromArray(Check.ToFloat(b), shape, device);
            // x is a's operand in one junction and b's in the other (the other operand needs no gradient), then both
            // operands of a third: x's gradient is scale·g + scale·g + 2·scale·g.
            var y2 = Ops_.AddScaled(Ops_.AddScaled(x, constant, 1f), Ops_.AddScaled(constant, x, 1f), scale);
            var y3 = Ops_.AddScaled(x, x, scale);
            tape2.Backward(y2, Tensor.FromArray(Check.ToFloat(g), shape, device));
            tape2.Backward(y3, Tensor.FromArray(Check.ToFloat(g), shape, device));
            Assert.That(constant.Grad, Is.Null);
            Check.Close(x.Grad!.ToArray(), g64.Select(v => 4 * v).ToArray(), 1e-6, $"grad of an operand used four times on {device}");
        }
    }

    [Test]
    public void AddScaled_rejects_different_shapes_and_a_non_finite_scale()
    {
        using var a = Tensor.Zeros(new Shape(2, 3));
        using var b = Tensor.Zeros(new Shape(3));
        var e = Assert.Throws<ArgumentException>(() => Ops_.AddScaled(a, b, 0.5f))!;
        Assert.That(e.Message, Does.Contain("add_scaled").And.Contain("[2, 3]").And.Contain("[3]"));
        e = Assert.Throws<ArgumentException>(() => Ops_.AddScaled(a, a, float.NaN))!;
        Assert.That(e.Message, Does.Contain("finite"));
    }

    [Test]
    public void Incompatible_shapes_name_op_and_both_shapes()
    {
        var rng = Rand.ForTest();
        using var a = Tensor.Randn(new Shape(2, 3, 4, 4), rng);
        using var b = Tensor.Randn(new Shape(1, 2, 1, 1), rng);
        var e = Assert.Throws<ArgumentException>(() => Ops_.Div(a, b))!;
        Assert.That(e.Message, Does.Contain("div").And.Contain("[2, 3, 4, 4]").And.Contain("[1, 2, 1, 1]"));
    }
}
