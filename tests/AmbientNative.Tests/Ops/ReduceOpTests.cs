using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class ReduceOpTests
{
    /// <summary>Reduce x of <paramref name="Dims"/> along Axis (null: everything); Mean divides by the count.</summary>
    public sealed record Case(int[] Dims, int? Axis, bool KeepDim, bool Mean)
    {
        public Shape Shape => Dims;
        public AxisGeometry G => Axis is int a ? AxisGeometry.Of(Shape, a) : AxisGeometry.Whole(Shape);
        public double Scale => Mean ? 1.0 / G.Size : 1.0;
        public Tensor Op(Tensor x) => (Axis, Mean) switch
        {
            (null, false) => Ops_.Sum(x),
            (null, true) => Ops_.Mean(x),
            (int a, false) => Ops_.Sum(x, a, KeepDim),
            (int a, true) => Ops_.Mean(x, a, KeepDim),
        };
        public override string ToString() =>
            $"{(Mean ? "mean" : "sum")} {Shape} axis {(Axis?.ToString() ?? "all")}{(KeepDim ? " keepDim" : "")}";
    }

    public static readonly Case[] Cases =
    [
        new([2, 3, 5], null, false, false), new([2, 3, 5], null, false, true),
        new([2, 3, 5], 0, false, false), new([2, 3, 5], 1, true, true), new([2, 3, 5], -1, false, true),
        new([3, 1, 4, 5], 2, true, false), new([1, 7], 0, false, true), new([9], 0, true, false),
    ];

    private static double[] Fwd(Case c, double[] x)
    {
        var y = new double[c.G.Outer * c.G.Inner];
        ReduceRef.Sum<double>(x, y, c.G, c.Scale);
        return y;
    }

    private static double[] Bwd(Case c, double[] g)
    {
        var gx = new double[c.G.Numel];
        ReduceRef.SumBackward<double>(g, gx, c.G, c.Scale);
        return gx;
    }

    [TestCaseSource(nameof(Cases))]
    public void Gradient_matches_finite_differences_in_float64(Case c)
    {
        var x = Rand.Normal(Rand.ForTest(), c.Shape.Numel);
        GradCheck.Run(v => Fwd(c, v[0]), (v, g) => [Bwd(c, g)], [x], what: c.ToString());
    }

    [TestCaseSource(nameof(Cases))]
    public void Float32_forward_and_backward_match_float64(Case c)
    {
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, c.Shape.Numel);
        var y64 = Fwd(c, x);
        var g = Rand.Normal(rng, y64.Length);
        var gx64 = Bwd(c, g);
        foreach (var device in CpuDevices.All)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), c.Shape, device).RequireGrad();
            var yt = c.Op(xt);
            Check.Close(yt.ToArray(), y64, 1e-5, $"{c} forward on {device}");
            tape.Backward(yt, Tensor.FromArray(Check.ToFloat(g), yt.Shape, device));
            Check.Close(xt.Grad!.ToArray(), gx64, 1e-5, $"{c} backward on {device}");
        }
    }

    [Test]
    public void Output_shapes_follow_axis_and_keepDim()
    {
        using var tape = new Tape();
        using var x = Tensor.Randn(new Shape(2, 3, 5), Rand.ForTest());
        Assert.That(Ops_.Sum(x).Shape, Is.EqualTo(new Shape(Array.Empty<int>())));
        Assert.That(Ops_.Mean(x).Shape.Rank, Is.Zero);
        Assert.That(Ops_.Sum(x, 1).Shape, Is.EqualTo(new Shape(2, 5)));
        Assert.That(Ops_.Sum(x, 1, keepDim: true).Shape, Is.EqualTo(new Shape(2, 1, 5)));
        Assert.That(Ops_.Mean(x, -1).Shape, Is.EqualTo(new Shape(2, 3)));
        Assert.That(Ops_.Mean(x, -3, keepDim: true).Shape, Is.EqualTo(new Shape(1, 3, 5)));
    }

    [Test]
    public void Scalar_loss_backpropagates_without_a_seed()
    {
        using var tape = new Tape();
        using var x = Tensor.Randn(new Shape(4, 3), Rand.ForTest()).RequireGrad();
        var loss = Ops_.Mean(x);
        Assert.That(loss.Item(), Is.EqualTo(x.ToArray().Average()).Within(1e-6));
        tape.Backward(loss);
        Assert.That(x.Grad!.ToArray(), Is.All.EqualTo(1f / 12));
    }

    [Test]
    public void Float_sum_accumulates_in_double()
    {
        // 2^24 followed by 1000 ones: a float accumulator stays at 2^24 (each +1 rounds away); double gives 2^24 + 1000.
        var data = Enumerable.Repeat(1f, 1001).ToArray();
        data[0] = 16777216f;
        foreach (var device in CpuDevices.All)
        {
            using var x = Tensor.FromArray(data, new Shape(1001), device);
            using var s = Ops_.Sum(x);
            Assert.That(s.Item(), Is.EqualTo(16778216f), device.Name);
        }
    }

    [Test]
    public void Axis_out_of_range_names_the_shape()
    {
        using var x = Tensor.Randn(new Shape(2, 3), Rand.ForTest());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops_.Sum(x, 2))!;
        Assert.That(e.Message, Does.Contain("[2, 3]"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops_.Mean(x, -3));
    }
}
