using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class ResampleOpTests
{
    private static readonly Device[] Devices = [Device.CpuReference, Device.Cpu];

    // (N, C, H, W): batch 1, odd channels, odd heights and widths (pooling drops the last row/column), 2×2 and 1×1.
    public static readonly int[][] Shapes = [[1, 3, 4, 6], [2, 5, 5, 7], [3, 1, 2, 3], [1, 2, 7, 2]];
    public static readonly int[][] UpShapes = [.. Shapes, [2, 3, 1, 1]];

    private delegate void Kernel(ReadOnlySpan<double> src, Span<double> dst, int planes, int h, int w);

    private static double[] Run(Kernel k, double[] src, int outLength, int[] s)
    {
        var dst = new double[outLength];
        k(src, dst, s[0] * s[1], s[2], s[3]);
        return dst;
    }

    private static int Numel(int[] s) => s[0] * s[1] * s[2] * s[3];
    private static int PooledNumel(int[] s) => s[0] * s[1] * (s[2] / 2) * (s[3] / 2);

    [TestCaseSource(nameof(UpShapes))]
    public void Upsample_gradient_matches_finite_differences_in_float64(int[] s)
    {
        GradCheck.Run(a => Run(ResampleRef.Upsample2x, a[0], 4 * Numel(s), s),
            (a, gy) => [Run(ResampleRef.Upsample2xBackward, gy, Numel(s), s)],
            [Rand.Normal(Rand.ForTest(), Numel(s))], what: string.Join("x", s));
    }

    [TestCaseSource(nameof(Shapes))]
    public void AvgPool_gradient_matches_finite_differences_in_float64(int[] s)
    {
        // Every coordinate is probed, so the dropped odd row/column is checked to have a zero gradient.
        GradCheck.Run(a => Run(ResampleRef.AvgPool2x, a[0], PooledNumel(s), s),
            (a, gy) => [Run(ResampleRef.AvgPool2xBackward, gy, Numel(s), s)],
            [Rand.Normal(Rand.ForTest(), Numel(s))], maxProbes: Numel(s), what: string.Join("x", s));
    }

    private static void CompareWithFloat64(Func<Tensor, Tensor> op, int[] s, double[] x, double[] y64, double[] gy,
        double[] gx64, string what)
    {
        foreach (var device in Devices)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), new Shape(s), device).RequireGrad();
            var y = op(xt);
            Check.Close(y.ToArray(), y64, 1e-6, $"{what} forward on {device}");
            tape.Backward(y, Tensor.FromArray(Check.ToFloat(gy), y.Shape, device));
            Check.Close(xt.Grad!.ToArray(), gx64, 1e-6, $"{what} backward on {device}");
        }
    }

    [TestCaseSource(nameof(UpShapes))]
    public void Upsample_float32_matches_float64(int[] s)
    {
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, Numel(s)); var gy = Rand.Normal(rng, 4 * Numel(s));
        CompareWithFloat64(Ops_.Upsample2x, s, x, Run(ResampleRef.Upsample2x, x, 4 * Numel(s), s), gy,
            Run(ResampleRef.Upsample2xBackward, gy, Numel(s), s), "upsample2x");
    }

    [TestCaseSource(nameof(Shapes))]
    public void AvgPool_float32_matches_float64(int[] s)
    {
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, Numel(s)); var gy = Rand.Normal(rng, PooledNumel(s));
        CompareWithFloat64(Ops_.AvgPool2x, s, x, Run(ResampleRef.AvgPool2x, x, PooledNumel(s), s), gy,
            Run(ResampleRef.AvgPool2xBackward, gy, Numel(s), s), "avgpool2x");
    }

    [Test]
    public void Small_examples_written_out()
    {
        // 3×3 pools to 1×1 as in PyTorch (floor): the last row and column are ignored.
        using var x = Tensor.FromArray([1f, 2, 3, 4, 5, 6, 7, 8, 9], 1, 1, 3, 3);
        using var pooled = Ops_.AvgPool2x(x);
        Assert.That(pooled.Shape, Is.EqualTo(new Shape(1, 1, 1, 1)));
        Assert.That(pooled.ToArray(), Is.EqualTo(new[] { (1f + 2 + 4 + 5) / 4 }));

        using var small = Tensor.FromArray([1f, 2, 3, 4], 1, 1, 2, 2);
        using var up = Ops_.Upsample2x(small);
        Assert.That(up.ToArray(), Is.EqualTo(new[] { 1f, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }));
    }

    [TestCaseSource(nameof(UpShapes))]
    public void Pooling_undoes_upsampling(int[] s)
    {
        var x = Rand.Normal(Rand.ForTest(), Numel(s));
        var up = Run(ResampleRef.Upsample2x, x, 4 * Numel(s), s);
        var back = Run(ResampleRef.AvgPool2x, up, Numel(s), [s[0], s[1], 2 * s[2], 2 * s[3]]);
        Assert.That(back, Is.EqualTo(x));
    }

    [TestCaseSource(nameof(Shapes))]
    public void Backend_outputs_are_fully_overwritten(int[] s)
    {
        var rng = Rand.ForTest();
        var pooled = new Shape(s[0], s[1], s[2] / 2, s[3] / 2);
        var big = new Shape(s[0], s[1], 2 * s[2], 2 * s[3]);
        foreach (var device in Devices)
        {
            var be = device.Backend;
            using var x = Tensor.Randn(new Shape(s), rng, device);
            using var gPooled = Tensor.Randn(pooled, rng, device);
            using var gBig = Tensor.Randn(big, rng, device);
            // NaN-filled outputs: any element a kernel leaves unwritten (e.g. a dropped odd row) shows up as NaN.
            using var y1 = Tensor.FromArray(Rand.Poison(pooled.Numel), pooled, device);
            using var y2 = Tensor.FromArray(Rand.Poison(big.Numel), big, device);
            using var g1 = Tensor.FromArray(Rand.Poison(x.Numel), x.Shape, device);
            using var g2 = Tensor.FromArray(Rand.Poison(x.Numel), x.Shape, device);
            be.AvgPool2x(x, y1); be.Upsample2x(x, y2); be.AvgPool2xBackward(gPooled, g1); be.Upsample2xBackward(gBig, g2);
            foreach (var t in new[] { y1, y2, g1, g2 })
                Assert.That(t.ToArray().All(float.IsFinite), $"unwritten elements in a {t.Shape} output on {device}");
        }
    }

    [Test]
    public void Bad_shapes_give_clear_errors()
    {
        using var thin = Tensor.Zeros(new Shape(2, 3, 1, 5));
        var e = Assert.Throws<ArgumentException>(() => Ops_.AvgPool2x(thin))!;
        Assert.That(e.Message, Does.Contain("avgpool2x").And.Contain("[2, 3, 1, 5]").And.Contain("2×2"));
        using var flat = Tensor.Zeros(new Shape(3, 4));
        e = Assert.Throws<ArgumentException>(() => Ops_.Upsample2x(flat))!;
        Assert.That(e.Message, Does.Contain("upsample2x").And.Contain("[3, 4]"));
    }
}
