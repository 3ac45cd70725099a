using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class SoftmaxOpTests
{
    public static readonly int[][] Shapes = [[3, 7], [2, 3, 5], [4, 1], [13], [1, 2, 2, 9]];

    private static double[] Fwd(double[] x, int n) { var y = new double[x.Length]; SoftmaxRef.Forward<double>(x, y, n); return y; }

    private static double[] Bwd(double[] x, double[] g, int n)
    {
        var gx = new double[x.Length];
        SoftmaxRef.Backward<double>(Fwd(x, n), g, gx, n);
        return gx;
    }

    [TestCaseSource(nameof(Shapes))]
    public void Gradient_matches_finite_differences_in_float64(int[] dims)
    {
        Shape s = dims;
        var x = Rand.Normal(Rand.ForTest(), s.Numel, 2);
        GradCheck.Run(v => Fwd(v[0], s[-1]), (v, g) => [Bwd(v[0], g, s[-1])], [x], what: s.ToString());
    }

    [TestCaseSource(nameof(Shapes))]
    public void Float32_forward_and_backward_match_float64(int[] dims)
    {
        Shape s = dims;
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, s.Numel, 2);
        var g = Rand.Normal(rng, s.Numel);
        var y64 = Fwd(x, s[-1]);
        var gx64 = Bwd(x, g, s[-1]);
        foreach (var device in CpuDevices.All)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), s, device).RequireGrad();
            var yt = Ops_.Softmax(xt);
            Check.Close(yt.ToArray(), y64, 1e-5, $"forward on {device}");
            tape.Backward(yt, Tensor.FromArray(Check.ToFloat(g), s, device));
            Check.Close(xt.Grad!.ToArray(), gx64, 1e-5, $"backward on {device}");
        }
    }

    [Test]
    public void Large_logits_are_stable_and_shift_invariant()
    {
        // exp(1000) overflows float and double; subtracting the row maximum must make it irrelevant.
        var rng = Rand.ForTest();
        var x = Check.ToFloat(Rand.Normal(rng, 2 * 6, 3));
        var shifted = x.Select((v, i) => v + (i < 6 ? 1000f : -1000f)).ToArray();
        using var a = Ops_.Softmax(Tensor.FromArray(x, 2, 6));
        using var b = Ops_.Softmax(Tensor.FromArray(shifted, 2, 6));
        Check.Close(b.ToArray(), a.ToArray(), 1e-4, "softmax(x + c) vs softmax(x)");
        var y = a.ToArray();
        Assert.That(y.Take(6).Sum(), Is.EqualTo(1f).Within(1e-6));
        Assert.That(y.Skip(6).Sum(), Is.EqualTo(1f).Within(1e-6));
    }

    [Test]
    public void Rank_zero_input_is_a_clear_error()
    {
        using var x = Tensor.Full(new Shape(Array.Empty<int>()), 1f);
        var e = Assert.Throws<ArgumentException>(() => Ops_.Softmax(x))!;
        Assert.That(e.Message, Does.Contain("softmax").And.Contain("[]"));
    }
}
