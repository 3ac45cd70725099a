using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class ScalarOpTests
{
    /// <summary>One scalar op: float64 reference forward/backward, the autograd op, and its inputs.</summary>
    public sealed record Case(string Name, Func<double[], double[]> Fwd, Func<double[], double[], double[]> Bwd,
        Func<Tensor, Tensor> Op, Func<Rng, int, double[]> Input)
    {
        public override string ToString() => Name;
    }

    private static double[] Map(double[] x, Action<double[], double[]> f) { var y = new double[x.Length]; f(x, y); return y; }
    private static double[] Map(double[] x, double[] g, Action<double[], double[], double[]> f) { var y = new double[x.Length]; f(x, g, y); return y; }

    private static Case Affine(double a, double b) => new($"affine {a}·x+{b}",
        x => Map(x, (x, y) => ScalarRef.Affine<double>(x, a, b, y)),
        (x, g) => Map(g, (g, gx) => ScalarRef.Affine<double>(g, a, 0, gx)),
        t => Ops_.Affine(t, (float)a, (float)b), (r, n) => Rand.Normal(r, n));

    // Inputs straddle both bounds, so all three branches are exercised.
    private static Case Clamp(double lo, double hi) => new($"clamp [{lo}, {hi}]",
        x => Map(x, (x, y) => ScalarRef.Clamp<double>(x, lo, hi, y)),
        (x, g) => Map(x, g, (x, g, gx) => ScalarRef.ClampBackward<double>(x, lo, hi, g, gx)),
        t => Ops_.Clamp(t, (float)lo, (float)hi), (r, n) => Rand.Normal(r, n));

    private static Case Pow(double p) => new($"pow {p}",
        x => Map(x, (x, y) => ScalarRef.Pow<double>(x, p, y)),
        (x, g) => Map(x, g, (x, g, gx) => ScalarRef.PowBackward<double>(x, p, g, gx)),
        t => Ops_.PowScalar(t, (float)p), (r, n) => Rand.Uniform(r, n, 0.3, 2.0));

    public static readonly Case[] Cases =
    [
        Affine(-1.7, 0.3), Affine(0.25, 0), Affine(1, -2.5),
        Clamp(-0.5, 0.8), Clamp(-1, 1),
        Pow(3), Pow(-0.5), Pow(1.7), Pow(2),
    ];

    [TestCaseSource(nameof(Cases))]
    public void Gradient_matches_finite_differences_in_float64(Case c)
    {
        var x = c.Input(Rand.ForTest(), 53);
        GradCheck.Run(v => c.Fwd(v[0]), (v, g) => [c.Bwd(v[0], g)], [x], what: c.Name);
    }

    [TestCaseSource(nameof(Cases))]
    public void Float32_forward_and_backward_match_float64(Case c)
    {
        var rng = Rand.ForTest();
        var x = c.Input(rng, 2 * 3 * 5 * 7);
        var g = Rand.Normal(rng, x.Length);
        var y64 = c.Fwd(x);
        var gx64 = c.Bwd(x, g);
        var shape = new Shape(2, 3, 5, 7);
        foreach (var device in CpuDevices.All)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), shape, device).RequireGrad();
            var yt = c.Op(xt);
            Check.Close(yt.ToArray(), y64, 1e-5, $"{c.Name} forward on {device}");
            tape.Backward(yt, Tensor.FromArray(Check.ToFloat(g), shape, device));
            Check.Close(xt.Grad!.ToArray(), gx64, 1e-5, $"{c.Name} backward on {device}");
        }
    }

    [Test]
    public void Clamp_passes_gradient_strictly_inside_the_bounds()
    {
        using var tape = new Tape();
        using var x = Tensor.FromArray([-2f, -1f, -0.5f, 0.25f, 1f, 3f], 6).RequireGrad();
        var y = Ops_.Clamp(x, -1f, 1f);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { -1f, -1f, -0.5f, 0.25f, 1f, 1f }));
        tape.Backward(y, Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 6));
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 0f, 3f, 4f, 0f, 0f }));
    }

    [Test]
    public void AddScalar_and_MulScalar_are_affine()
    {
        var rng = Rand.ForTest();
        using var x = Tensor.Randn(new Shape(3, 4), rng);
        using var a = Ops_.AddScalar(x, 0.75f);
        using var m = Ops_.MulScalar(x, -3f);
        var xs = x.ToArray(); var av = a.ToArray(); var mv = m.ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            Assert.That(av[i], Is.EqualTo(xs[i] + 0.75f));
            Assert.That(mv[i], Is.EqualTo(xs[i] * -3f));
        }
    }

    [Test]
    public void Clamp_with_inverted_bounds_is_a_clear_error()
    {
        using var x = Tensor.Randn(new Shape(2, 2), Rand.ForTest());
        var e = Assert.Throws<ArgumentException>(() => Ops_.Clamp(x, 1f, -1f))!;
        Assert.That(e.Message, Does.Contain("clamp").And.Contain("[2, 2]"));
    }
}
