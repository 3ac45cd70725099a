using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>The im2col + SGEMM convolution (Conv2dGemm) against the float64 reference, pass by pass.</summary>
public class FastConvTests
{
    // (N, Cin, H, W, Cout, K, stride, pad). Spatial sizes off the 32-wide tile, Cout off the 8-row tile, batch 1.
    public static readonly Conv2dGeometry[] Geometries =
    [
        new(1, 3, 5, 7, 4, 3, 1, 1),      // batch 1, tiny
        new(2, 5, 9, 7, 3, 3, 2, 1),      // stride 2, odd everything
        new(3, 31, 12, 11, 20, 3, 1, 1),  // Cin·K² = 279 > 256: two K slices; large enough to run in parallel
        new(2, 4, 7, 7, 5, 1, 1, 0),      // 1×1 stride 1: no im2col
        new(2, 6, 8, 9, 7, 1, 2, 1),      // 1×1 with stride and padding: im2col path
        new(1, 2, 9, 8, 3, 5, 2, 0),      // 5×5 stride 2, no padding
        new(1, 16, 64, 64, 8, 3, 1, 1),   // col of one image over budget: several channel blocks
        new(2, 1, 9, 11, 17, 3, 2, 1),    // one input channel: backward weight splits output channels
        new(1, 2, 180, 180, 2, 3, 1, 1),  // large image: many column pieces
        // Output rows a whole number of 32-wide tiles, as in the benchmark.
        new(2, 5, 6, 32, 7, 3, 1, 1),
        new(1, 3, 9, 30, 4, 5, 1, 3),     // 5×5, padding 3
        new(1, 2, 5, 96, 3, 3, 1, 1),     // column pieces of 128 straddle output rows of 96
    ];

    private static IEnumerable<SgemmKernel> Kernels => Enum.GetValues<SgemmKernel>().Where(Sgemm.IsSupported);

    // Every geometry with the best kernel; the others (different tile shapes, so different blockings) on all.
    private static IEnumerable<TestCaseData> Cases =>
        from g in Geometries
        from k in Kernels
        where k == Sgemm.Best || g.InputSize < 20_000
        select new TestCaseData(g, k);

    [TestCaseSource(nameof(Cases))]
    public void Forward_matches_float64_reference(Conv2dGeometry g, SgemmKernel kernel)
    {
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, g.InputSize);
        var w = Rand.Normal(rng, g.WeightSize, 0.3);
        var b = Rand.Normal(rng, g.Cout);
        foreach (bool withBias in new[] { true, false })
        {
            var expected = new double[g.OutputSize];
            Conv2dRef.Forward<double>(x, w, withBias ? b : default, expected, g);
            var y = Rand.Poison(g.OutputSize);
            Conv2dGemm.Forward(Check.ToFloat(x), Check.ToFloat(w), withBias ? Check.ToFloat(b) : default, y, g, kernel);
            Check.Close(y, expected, 1e-5, $"forward {g} bias={withBias} {kernel}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Backward_data_matches_float64_reference(Conv2dGeometry g, SgemmKernel kernel)
    {
        var rng = Rand.ForTest();
        var gy = Rand.Normal(rng, g.OutputSize);
        var w = Rand.Normal(rng, g.WeightSize, 0.3);
        var expected = new double[g.InputSize];
        Conv2dRef.BackwardData<double>(gy, w, expected, g);
        var gx = Rand.Poison(g.InputSize);
        Conv2dGemm.BackwardData(Check.ToFloat(gy), Check.ToFloat(w), gx, g, kernel);
        Check.Close(gx, expected, 1e-5, $"backward data {g} {kernel}");
    }

    [TestCaseSource(nameof(Cases))]
    public void Backward_weight_matches_float64_reference(Conv2dGeometry g, SgemmKernel kernel)
    {
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, g.InputSize);
        var gy = Rand.Normal(rng, g.OutputSize);
        var gw64 = new double[g.WeightSize];
        var gb64 = new double[g.Cout];
        Conv2dRef.BackwardWeight<double>(x, gy, gw64, gb64, g);
        foreach (bool withBias in new[] { true, false })
        {
            var gw = Rand.Poison(g.WeightSize);
            var gb = withBias ? Rand.Poison(g.Cout) : [];
            Conv2dGemm.BackwardWeight(Check.ToFloat(x), Check.ToFloat(gy), gw, gb, g, kernel);
            Check.Close(gw, gw64, 1e-5, $"backward weight {g} bias={withBias} {kernel}");
            if (withBias) Check.Close(gb, gb64, 1e-5, $"backward bias {g}");
        }
    }

    [TestCaseSource(nameof(Geometries))]
    public void Unfold_matches_its_definition_and_fold_is_its_adjoint(Conv2dGeometry g)
    {
        var rng = Rand.ForTest();
        var image = Check.ToFloat(Rand.Normal(rng, g.Cin * g.H * g.W));
        int c0 = g.Cin / 2, c1 = g.Cin, kk = g.K * g.K, spatial = g.OutH * g.OutW;
        int j0 = spatial / 3, j1 = spatial - 1;
        var col = Rand.Poison((c1 - c0) * kk * (j1 - j0));
        Im2Col.Unfold(image, g, c0, c1, j0, j1, col);
        for (int ci = c0; ci < c1; ci++)
        for (int ky = 0; ky < g.K; ky++)
        for (int kx = 0; kx < g.K; kx++)
        for (int j = j0; j < j1; j++)
        {
            int iy = j / g.OutW * g.Stride - g.Pad + ky, ix = j % g.OutW * g.Stride - g.Pad + kx;
            float want = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W ? image[(ci * g.H + iy) * g.W + ix] : 0f;
            float got = col[(((ci - c0) * g.K + ky) * g.K + kx) * (j1 - j0) + j - j0];
            if (got != want) Assert.Fail($"{g}: col[ci={ci}, ky={ky}, kx={kx}, j={j}] = {got}, want {want}");
        }

        // ⟨unfold(x), c⟩ = ⟨x, fold(c)⟩ on the same column range, in float64 sums of float32 data.
        var c = Check.ToFloat(Rand.Normal(rng, col.Length));
        var folded = new float[image.Length];
        Im2Col.FoldAdd(c, g, c0, c1, j0, j1, folded);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < col.Length; i++) lhs += (double)col[i] * c[i];
        for (int i = 0; i < image.Length; i++) rhs += (double)image[i] * folded[i];
        Assert.That(rhs, Is.EqualTo(lhs).Within(1e-4 * (Math.Abs(lhs) + 1)), $"{g}: fold is not the adjoint of unfold");
        for (int i = 0; i < c0 * g.H * g.W; i++)
            if (folded[i] != 0f) Assert.Fail($"{g}: fold wrote channel {i / (g.H * g.W)} outside [{c0}, {c1})");
    }

    [Test]
    public void Wrong_buffer_length_names_the_operand_and_geometry()
    {
        var g = new Conv2dGeometry(1, 2, 4, 4, 3, 3, 1, 1);
        var e = Assert.Throws<ArgumentException>(() =>
            Conv2dGemm.Forward(new float[g.InputSize], new float[g.WeightSize - 1], default, new float[g.OutputSize], g))!;
        Assert.That(e.Message, Does.Contain("w has 53 elements").And.Contain("needs 54"));
        e = Assert.Throws<ArgumentException>(() =>
            Conv2dGemm.BackwardWeight(new float[g.InputSize], new float[g.OutputSize], new float[g.WeightSize], new float[2], g))!;
        Assert.That(e.Message, Does.Contain("gbias has 2 elements"));
    }
}
