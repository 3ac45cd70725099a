using AmbientNative.Backends;
using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class DropoutOpTests
{
    private static readonly Device[] Devices = [Device.CpuReference, Device.Cpu];

    [TestCase(0.1f)]
    [TestCase(0.13f)]  // EDM's CIFAR-10 setting
    [TestCase(0.5f)]
    [TestCase(0.9f)]
    public void Keep_fraction_is_one_minus_p_within_3_sigma_and_survivors_are_rescaled(float p)
    {
        const int n = 40_000;
        var rng = Rand.ForTest();
        using var x = Tensor.Rand(new Shape(4, 10_000), rng, lo: 0.5f, hi: 1.5f);  // never zero, so y ≠ 0 ⇔ kept
        using var y = Ops_.Dropout(x, p, new Rng(rng.NextUInt()), training: true);
        var xs = x.ToArray(); var ys = y.ToArray();
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            if (ys[i] == 0) continue;
            kept++;
            Assert.That(ys[i], Is.EqualTo(xs[i] / (1 - p)).Within(1e-4).Percent, $"element {i}");
        }
        double sigma = Math.Sqrt(p * (1 - p) / n);
        Assert.That((double)kept / n, Is.EqualTo(1 - p).Within(3 * sigma));
    }

    [Test]
    public void Mask_is_the_philox_stream_at_seed_and_counter_and_rng_advances()
    {
        // The specification a GPU kernel must reproduce: element i reads word i of the stream new Rng(seed, counter).
        const float p = 0.3f;
        var rng = new Rng(1234, 77);
        rng.NextUInt();  // a partly consumed buffer must not shift the mask: it starts at the next whole block
        ulong counter = rng.Counter;
        var stream = new Rng(1234, counter);
        var expected = Enumerable.Range(0, 2 * 3 * 7).Select(_ => stream.NextUInt() >> 8 < DropoutRef.KeepThreshold(p)).ToArray();
        foreach (var device in Devices)
        {
            var r = Rng.FromState(1234, counter);
            using var x = Tensor.Full(new Shape(2, 3, 7), 1f, device);
            using var y = Ops_.Dropout(x, p, r, training: true);
            Assert.That(y.ToArray().Select(v => v != 0).ToArray(), Is.EqualTo(expected), device.Name);
            Assert.That(r.Counter, Is.EqualTo(counter + 11), "42 elements use ⌈42/4⌉ = 11 blocks");
        }
        var again = Rng.FromState(1234, counter);
        using var ones = Tensor.Full(new Shape(2, 3, 7), 1f);
        using var first = Ops_.Dropout(ones, p, again, training: true);
        using var second = Ops_.Dropout(ones, p, again, training: true);
        Assert.That(second.ToArray(), Is.Not.EqualTo(first.ToArray()), "the next call must draw a fresh mask");
    }

    [Test]
    public void Gradient_of_reference_matches_finite_differences_in_float64()
    {
        var x = Rand.Normal(Rand.ForTest(), 45);
        double[] F(double[] v) { var y = new double[v.Length]; DropoutRef.Apply<double>(v, y, 0.4, 99, 3); return y; }
        GradCheck.Run(v => F(v[0]), (v, g) => [F(g)], [x]);
    }

    [Test]
    public void Float32_forward_and_backward_match_float64_with_the_same_mask()
    {
        const float p = 0.25f;
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, 3 * 5 * 7);
        var g = Rand.Normal(rng, x.Length);
        var y64 = new double[x.Length]; DropoutRef.Apply<double>(x, y64, p, 5, 8);
        var gx64 = new double[x.Length]; DropoutRef.Apply<double>(g, gx64, p, 5, 8);
        foreach (var device in Devices)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), new Shape(3, 5, 7), device).RequireGrad();
            var yt = Ops_.Dropout(xt, p, new Rng(5, 8), training: true);
            Check.Close(yt.ToArray(), y64, 1e-6, $"forward on {device}");
            tape.Backward(yt, Tensor.FromArray(Check.ToFloat(g), yt.Shape, device));
            Check.Close(xt.Grad!.ToArray(), gx64, 1e-6, $"backward on {device}");
            var gs = xt.Grad!.ToArray(); var ys = yt.ToArray();
            for (int i = 0; i < gs.Length; i++) Assert.That(gs[i] == 0, Is.EqualTo(ys[i] == 0), $"same mask at {i}");
        }
    }

    [Test]
    public void Evaluation_mode_is_the_identity_without_a_copy_or_rng_use()
    {
        var rng = Rand.ForTest();
        using var tape = new Tape();
        using var x = Tensor.Randn(new Shape(2, 3), rng).RequireGrad();
        var r = new Rng(7, 5);
        var y = Ops_.Dropout(x, 0.5f, r, training: false);
        Assert.That(y.Storage, Is.SameAs(x.Storage));
        Assert.That(r.Counter, Is.EqualTo(5UL));
        var g = Check.ToFloat(Rand.Normal(rng, 6));
        tape.Backward(y, Tensor.FromArray(g, 2, 3));
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(g));
    }

    [TestCase(-0.1f)]
    [TestCase(1f)]
    [TestCase(float.NaN)]
    public void Invalid_p_is_a_clear_error(float p)
    {
        using var x = Tensor.Randn(new Shape(2, 3), Rand.ForTest());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops_.Dropout(x, p, new Rng(1), true))!;
        Assert.That(e.Message, Does.Contain("dropout").And.Contain("[2, 3]"));
        e = Assert.Throws<ArgumentOutOfRangeException>(() => DropoutMask.Draw(p, new Rng(1), true, 6))!;
        Assert.That(e.Message, Does.Contain("dropout").And.Contain("6 elements"));
    }

    // The mask GroupNorm folds in: drawn where Ops.Dropout would draw it, advancing the rng by the blocks it reads;
    // none (and no rng use) when dropout is the identity.
    [Test]
    public void A_drawn_mask_is_the_rng_position_and_advances_it_like_the_op()
    {
        var rng = new Rng(9, 40);
        var m = DropoutMask.Draw(0.2f, rng, training: true, numel: 41)!.Value;
        Assert.That((m.P, m.Seed, m.Counter), Is.EqualTo((0.2f, 9UL, 40UL)));
        Assert.That(rng.Counter, Is.EqualTo(40UL + 11), "41 elements read 11 Philox blocks");
        Assert.That(DropoutMask.Draw(0.2f, rng, training: false, numel: 41), Is.Null);
        Assert.That(DropoutMask.Draw(0f, rng, training: true, numel: 41), Is.Null);
        Assert.That(rng.Counter, Is.EqualTo(51UL), "the identity draws nothing");
        using var net = new AmbientNative.Nn.GroupNorm(Device.Cpu, 8, 1e-5f);
        using var x = Tensor.Randn(new Shape(1, 8, 2, 2), Rand.ForTest());
        var e = Assert.Throws<ArgumentException>(() => net.Forward(x, silu: false, dropout: m))!;
        Assert.That(e.Message, Does.Contain("dropout").And.Contain("SiLU"));
    }
}
