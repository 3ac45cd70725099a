using AmbientNative.Autograd;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>The operators are shorthand: same values and gradients as the Ops they stand for.</summary>
public class OperatorTests
{
    [Test]
    public void Operators_match_ops_in_value_and_gradient()
    {
        var rng = Rand.ForTest();
        using var tape = new Tape();
        using var a = Tensor.Randn(new Shape(2, 3, 2, 2), rng).RequireGrad();
        using var b = Tensor.Randn(new Shape(2, 1, 1, 1), rng).RequireGrad();
        using var c = Tensor.Rand(new Shape(1, 3, 1, 1), rng, lo: 0.5f, hi: 2f).RequireGrad();

        // d = ((a − b)·c / c + 1 − (2 − a)·3)/4, then −d: every operator once.
        var d = -(((a - b) * c / c + 1f - (2f - a) * 3f) / 4f);
        // By hand: −((a − b) + 1 − 6 + 3a)/4 = −(4a − b − 5)/4.
        var av = a.ToArray(); var bv = b.ToArray(); var dv = d.ToArray();
        for (int i = 0; i < av.Length; i++)
            Assert.That(dv[i], Is.EqualTo(-(4 * av[i] - bv[i / 12] - 5) / 4).Within(1e-5), $"element {i}");

        tape.Backward(Ops_.Sum(d));
        Assert.That(a.Grad!.ToArray(), Is.All.EqualTo(-1f).Within(1e-5));
        Assert.That(b.Grad!.ToArray(), Is.All.EqualTo(12 / 4f).Within(1e-5));   // 12 elements per sample, each ∂/∂b = 1/4
        Assert.That(c.Grad!.ToArray(), Is.All.EqualTo(0f).Within(1e-4));       // c cancels
    }

    [Test]
    public void Scalar_operators_commute_where_they_should()
    {
        var rng = Rand.ForTest();
        using var x = Tensor.Randn(new Shape(7), rng);
        using var p1 = x + 2.5f; using var p2 = 2.5f + x;
        using var m1 = x * -1.5f; using var m2 = -1.5f * x;
        Assert.That(p1.ToArray(), Is.EqualTo(p2.ToArray()));
        Assert.That(m1.ToArray(), Is.EqualTo(m2.ToArray()));
    }
}
