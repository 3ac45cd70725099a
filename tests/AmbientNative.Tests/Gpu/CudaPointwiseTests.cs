using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>Broadcasting binary ops, scalar-parameter ops and dropout on CUDA against the float64 reference.</summary>
[Category("Gpu")]
public class CudaPointwiseTests
{
    private const double Tol = 1e-4;

    // The CPU tests' broadcasts, plus fans large enough for the block-per-element backward: per-sample and
    // per-channel operands (one broadcast dimension, and two: [1,C,1,1]), a bias over rows, a scalar.
    private static readonly (int[] A, int[] B)[] Pairs =
    [
        ([2, 3, 4, 5], [2, 1, 1, 1]),
        ([1, 3, 2, 5], [3, 1, 1]),
        ([3, 1, 5], [1, 4, 1]),
        ([1, 3, 1, 1], [2, 3, 4, 5]),
        ([7], []),
        ([2, 3, 5], [2, 3, 5]),
        ([4, 8, 16, 16], [4, 8, 1, 1]),
        ([2, 3, 33, 35], [1, 3, 1, 1]),
        ([300, 70], [70]),
        ([3001], [1]),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        from op in Enum.GetValues<BinaryOp>()
        from p in Pairs
        select new TestCaseData(op, p.A, p.B);

    [TestCaseSource(nameof(Cases))]
    public void Binary_forward_and_both_gradients_match_float64(BinaryOp op, int[] aDims, int[] bDims)
    {
        var dev = Gpu.Device();
        Shape sa = aDims, sb = bDims, sy = Broadcast.ResultShape(sa, sb, "test");
        var rng = Rand.ForTest();
        var a = Gpu.F32(Rand.Normal(rng, sa.Numel));
        var b = Gpu.F32(Rand.Uniform(rng, sb.Numel, 0.5, 2.0)); // away from zero: Div stays well conditioned
        var gy = Gpu.F32(Rand.Normal(rng, sy.Numel));
        var y64 = new double[sy.Numel];
        BinaryRef.Forward<double>(op, a, sa, b, sb, y64, sy);
        var ga64 = new double[sa.Numel];
        var gb64 = new double[sb.Numel];
        BinaryRef.Backward<double>(op, a, sa, b, sb, gy, sy, ga64, gb64);

        using var at = Gpu.Upload(a, sa, dev);
        using var bt = Gpu.Upload(b, sb, dev);
        using var gyt = Gpu.Upload(gy, sy, dev);
        using var y = Gpu.Poisoned(sy, dev);
        dev.Backend.Binary(op, at, bt, y);
        Check.Close(y.ToArray(), y64, Tol, $"{op} {sa} {sb} forward");
        using var ga = Gpu.Poisoned(sa, dev);
        using var gb = Gpu.Poisoned(sb, dev);
        dev.Backend.BinaryBackward(op, at, bt, gyt, ga, gb);
        Check.Close(ga.ToArray(), ga64, Tol, $"{op} {sa} {sb} grad a");
        Check.Close(gb.ToArray(), gb64, Tol, $"{op} {sa} {sb} grad b");
        using var gbOnly = Gpu.Poisoned(sb, dev);
        dev.Backend.BinaryBackward(op, at, bt, gyt, null, gbOnly);
        Check.Close(gbOnly.ToArray(), gb64, Tol, $"{op} {sa} {sb} grad b alone");
    }

    [Test]
    public void Binary_backward_is_bitwise_reproducible()
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        Shape sa = new(4, 8, 16, 16), sb = new(1, 8, 1, 1);
        using var a = Tensor.Randn(sa, rng, dev);
        using var b = Tensor.Randn(sb, rng, dev);
        using var gy = Tensor.Randn(sa, rng, dev);
        using var g1 = Tensor.Empty(sb, dev);
        using var g2 = Tensor.Empty(sb, dev);
        dev.Backend.BinaryBackward(BinaryOp.Mul, a, b, gy, null, g1);
        dev.Backend.BinaryBackward(BinaryOp.Mul, a, b, gy, null, g2);
        Assert.That(g2.ToArray(), Is.EqualTo(g1.ToArray()));
    }

    private const int N = 4099;

    [Test]
    public void Affine_clamp_and_pow_match_float64()
    {
        var dev = Gpu.Device();
        var be = dev.Backend;
        var rng = Rand.ForTest();
        var x = Gpu.F32(Rand.Normal(rng, N, 1.5));
        var pos = Gpu.F32(Rand.Uniform(rng, N, 0.2, 3.0));
        var gy = Gpu.F32(Rand.Normal(rng, N));
        Shape s = new(N);
        using var xt = Gpu.Upload(x, s, dev);
        using var pt = Gpu.Upload(pos, s, dev);
        using var gt = Gpu.Upload(gy, s, dev);

        void Expect(Action<Tensor> run, double[] expected, string what)
        {
            using var o = Gpu.Poisoned(s, dev);
            run(o);
            Check.Close(o.ToArray(), expected, Tol, what);
        }
        double[] R(Action<double[]> f) { var r = new double[N]; f(r); return r; }

        Expect(o => be.Affine(xt, -0.7f, 0.3f, o), R(r => ScalarRef.Affine<double>(x, -0.7f, 0.3f, r)), "affine");
        Expect(o => be.Clamp(xt, -0.5f, 1.25f, o), R(r => ScalarRef.Clamp<double>(x, -0.5f, 1.25f, r)), "clamp");
        Expect(o => be.ClampBackward(xt, -0.5f, 1.25f, gt, o), R(r => ScalarRef.ClampBackward<double>(x, -0.5f, 1.25f, gy, r)), "clamp backward");
        Expect(o => be.Pow(pt, 1.7f, o), R(r => ScalarRef.Pow<double>(pos, 1.7f, r)), "pow, fractional exponent");
        Expect(o => be.PowBackward(pt, 1.7f, gt, o), R(r => ScalarRef.PowBackward<double>(pos, 1.7f, gy, r)), "pow backward");
        Expect(o => be.Pow(xt, 3f, o), R(r => ScalarRef.Pow<double>(x, 3, r)), "pow, negative base, integer exponent");
        Expect(o => be.PowBackward(xt, 3f, gt, o), R(r => ScalarRef.PowBackward<double>(x, 3, gy, r)), "pow backward, negative base");
    }

    [TestCase(0.1f, 4099, 12345UL)]
    [TestCase(0.5f, 1, 0UL)]
    [TestCase(0.13f, 100_003, 0xFFFF_FFFF_FFFF_FFF0UL)] // the 64-bit block counter wraps inside the tensor
    public void Dropout_mask_is_exactly_the_reference_mask(float p, int n, ulong counter)
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var x = new float[n];
        rng.FillNormal(x);
        const ulong seed = 0x0123_4567_89AB_CDEFUL;
        using var xc = Tensor.FromArray(x, new Shape(n), Device.CpuReference);
        using var yc = Tensor.Empty(new Shape(n), Device.CpuReference);
        Device.CpuReference.Backend.Dropout(xc, yc, p, seed, counter);
        using var xg = Tensor.FromArray(x, new Shape(n), dev);
        using var yg = Gpu.Poisoned(new Shape(n), dev);
        dev.Backend.Dropout(xg, yg, p, seed, counter);
        var expected = yc.ToArray();
        Assert.That(yg.ToArray(), Is.EqualTo(expected), "bit-identical to DropoutRef");
        if (n > 1000)
            Assert.That(expected.Count(v => v == 0) / (double)n, Is.EqualTo(p).Within(0.02), "dropped fraction");
    }
}
