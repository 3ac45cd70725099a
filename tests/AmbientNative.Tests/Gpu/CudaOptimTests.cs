using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>The optimizer kernels (AdamW, scale, EMA, sum of squares, all-finite) on CUDA against the reference.</summary>
[Category("Gpu")]
public class CudaOptimTests
{
    private const int N = 100_003;

    [TestCase(1L, 0.0)]
    [TestCase(7L, 0.01)]
    public void AdamStep_matches_float64(long step, double wd)
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var p = Gpu.F32(Rand.Normal(rng, N));
        var g = Gpu.F32(Rand.Normal(rng, N, 0.1));
        var m = Gpu.F32(Rand.Normal(rng, N, 0.01));
        var v = Gpu.F32(Rand.Uniform(rng, N, 0, 1e-3));
        var h = new AdamStepParams(1e-3, 0.9, 0.999, 1e-8, wd, step);
        Shape s = new(N);
        using var pt = Gpu.Upload(p, s, dev);
        using var gt = Gpu.Upload(g, s, dev);
        using var mt = Gpu.Upload(m, s, dev);
        using var vt = Gpu.Upload(v, s, dev);
        OptimRef.AdamStep<double>(p, g, m, v, h);
        dev.Backend.AdamStep(pt, gt, mt, vt, h);
        Check.Close(mt.ToArray(), m, 1e-6, "m");
        Check.Close(vt.ToArray(), v, 1e-6, "v");
        Check.Close(pt.ToArray(), p, 1e-6, "p");
    }

    [Test]
    public void Scale_ema_sum_of_squares_and_all_finite()
    {
        var dev = Gpu.Device();
        var be = dev.Backend;
        var rng = Rand.ForTest();
        var x = Gpu.F32(Rand.Normal(rng, N));
        var e = Gpu.F32(Rand.Normal(rng, N));
        Shape s = new(N);
        using var xt = Gpu.Upload(x, s, dev);
        using var et = Gpu.Upload(e, s, dev);

        double ss = x.Sum(v => v * v);
        Assert.That(be.SumOfSquares(xt), Is.EqualTo(ss).Within(1e-10).Percent, "sum of squares (double on both sides; only the order differs)");
        using (var one = Gpu.Upload([3.0], new Shape(1), dev)) Assert.That(be.SumOfSquares(one), Is.EqualTo(9.0));

        be.EmaUpdate(et, xt, 0.999);
        OptimRef.EmaUpdate<double>(e, x, 0.999);
        Check.Close(et.ToArray(), e, 1e-6, "ema");

        be.ScaleInPlace(xt, -0.3f);
        OptimRef.ScaleInPlace<double>(x, -0.3f);
        Check.Close(xt.ToArray(), x, 1e-6, "scale");

        Assert.That(be.AllFinite(xt), Is.True, "finite");
        foreach (var (index, bad) in new[] { (N - 1, float.NaN), (N / 2, float.PositiveInfinity), (0, float.NegativeInfinity) })
        {
            var h = Check.ToFloat(x);
            h[index] = bad;
            using var t = Tensor.FromArray(h, s, dev);
            Assert.That(be.AllFinite(t), Is.False, $"{bad} at {index}");
        }
    }
}
