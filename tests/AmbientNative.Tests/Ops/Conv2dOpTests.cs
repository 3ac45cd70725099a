using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class Conv2dOpTests
{
    // Awkward shapes: batch 1, odd channel counts, odd sizes, stride 2 with odd input, 1×1 and 3×3.
    public static readonly Conv2dGeometry[] Geometries =
    [
        new(1, 3, 5, 7, 4, 3, 1, 1),
        new(2, 5, 6, 5, 3, 3, 2, 1),
        new(2, 4, 7, 7, 5, 1, 1, 0),
        new(1, 2, 9, 8, 3, 3, 2, 0),
        new(3, 3, 4, 4, 6, 3, 1, 0),
    ];

    private static double[] Fwd(double[][] a, Conv2dGeometry g, bool bias)
    {
        var y = new double[g.OutputSize];
        Conv2dRef.Forward<double>(a[0], a[1], bias ? a[2] : default, y, g);
        return y;
    }

    [TestCaseSource(nameof(Geometries))]
    public void Gradient_matches_finite_differences_in_float64(Conv2dGeometry g)
    {
        var rng = Rand.ForTest();
        double[][] inputs = [Rand.Normal(rng, g.InputSize), Rand.Normal(rng, g.WeightSize, 0.3), Rand.Normal(rng, g.Cout)];
        GradCheck.Run(a => Fwd(a, g, true), (a, gy) =>
        {
            var gx = new double[g.InputSize]; var gw = new double[g.WeightSize]; var gb = new double[g.Cout];
            Conv2dRef.BackwardData<double>(gy, a[1], gx, g);
            Conv2dRef.BackwardWeight<double>(a[0], gy, gw, gb, g);
            return [gx, gw, gb];
        }, inputs, what: g.ToString());
    }

    [TestCaseSource(nameof(Geometries))]
    public void Every_cpu_backend_matches_float64_reference(Conv2dGeometry g)
    {
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, g.InputSize);
        var w = Rand.Normal(rng, g.WeightSize, 0.3);
        var b = Rand.Normal(rng, g.Cout);
        var gy = Rand.Normal(rng, g.OutputSize);
        var y64 = Fwd([x, w, b], g, true);
        var gx64 = new double[g.InputSize]; var gw64 = new double[g.WeightSize]; var gb64 = new double[g.Cout];
        Conv2dRef.BackwardData<double>(gy, w, gx64, g);
        Conv2dRef.BackwardWeight<double>(x, gy, gw64, gb64, g);

        foreach (var device in new[] { Device.CpuReference, Device.Cpu })
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), new Shape(g.N, g.Cin, g.H, g.W), device).RequireGrad();
            using var wt = Tensor.FromArray(Check.ToFloat(w), new Shape(g.Cout, g.Cin, g.K, g.K), device).RequireGrad();
            using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(g.Cout), device).RequireGrad();
            var yt = Ops_.Conv2d(xt, wt, bt, g.Stride, g.Pad);
            Check.Close(yt.ToArray(), y64, 1e-5, $"forward on {device}");
            tape.Backward(yt, Tensor.FromArray(Check.ToFloat(gy), yt.Shape, device));
            Check.Close(xt.Grad!.ToArray(), gx64, 1e-5, $"grad x on {device}");
            Check.Close(wt.Grad!.ToArray(), gw64, 1e-5, $"grad w on {device}");
            Check.Close(bt.Grad!.ToArray(), gb64, 1e-5, $"grad bias on {device}");
        }
    }

    [Test]
    public void Mismatched_weight_names_both_shapes()
    {
        using var x = Tensor.Zeros(new Shape(1, 3, 4, 4));
        using var w = Tensor.Zeros(new Shape(2, 4, 3, 3));
        var e = Assert.Throws<ArgumentException>(() => Ops_.Conv2d(x, w))!;
        Assert.That(e.Message, Does.Contain("[2, 4, 3, 3]").And.Contain("[1, 3, 4, 4]"));
    }
}
