using AmbientNative.Autograd;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Nn;

public class NnLayerTests
{
    private static readonly Device[] Devices = [Device.CpuReference, Device.Cpu];

    [Test]
    public void Xavier_uniform_has_the_right_bound_and_spread_and_is_seeded()
    {
        using var p = new Parameter("w", new Shape(64, 32, 3, 3));
        Init.XavierUniform(p, 32 * 9, 64 * 9, Init.Attention, new Rng(5));
        var a = p.ToArray();
        double bound = Math.Sqrt(0.2) * Math.Sqrt(6.0 / (32 * 9 + 64 * 9));
        Assert.That(a.Max(), Is.LessThanOrEqualTo(bound).And.GreaterThan(0.98 * bound));
        Assert.That(a.Min(), Is.GreaterThanOrEqualTo(-bound).And.LessThan(-0.98 * bound));
        double std = Math.Sqrt(a.Sum(v => (double)v * v) / a.Length);
        Assert.That(std, Is.EqualTo(bound / Math.Sqrt(3)).Within(0.02 * bound), "U(−b, b) has std b/√3");

        using var q = new Parameter("w", p.Shape);
        Init.XavierUniform(q, 32 * 9, 64 * 9, Init.Attention, new Rng(5));
        Assert.That(q.ToArray(), Is.EqualTo(a), "same seed, same values");
    }

    [TestCase(16, 4)]
    [TestCase(20, 5)]
    [TestCase(64, 16)]
    [TestCase(128, 32)]
    [TestCase(192, 32)]
    [TestCase(512, 32)]
    public void Group_count_is_min_32_and_a_quarter_of_the_channels(int channels, int groups)
    {
        Assert.That(GroupNorm.GroupsFor(channels), Is.EqualTo(groups));
        using var gn = new GroupNorm(Device.Cpu, channels, 1e-6f);
        Assert.That(gn.Groups, Is.EqualTo(groups));
        Assert.That(gn.Weight.ToArray().Distinct(), Is.EqualTo(new[] { 1f }));
        Assert.That(gn.Bias.ToArray().Distinct(), Is.EqualTo(new[] { 0f }));
    }

    [Test]
    public void Group_count_that_does_not_divide_the_channels_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => GroupNorm.GroupsFor(132))!;
        Assert.That(e.Message, Does.Contain("132 channels").And.Contain("32 equal groups"));
        Assert.Throws<ArgumentException>(() => GroupNorm.GroupsFor(3));
    }

    [Test]
    public void Conv2d_pads_to_same_size_and_strides([Values(1, 2)] int stride, [Values(1, 3)] int kernel)
    {
        var rng = Rand.ForTest();
        using var conv = new Conv2d(Device.Cpu, 5, 7, kernel, rng, stride: stride);
        Assert.That(conv.Parameters().Select(p => p.Name), Is.EqualTo(new[] { "weight", "bias" }));
        using var tape = new Tape();
        var x = Tape.Own(Tensor.Randn(new Shape(2, 5, 6, 6), rng));
        Assert.That(conv.Forward(x).Shape, Is.EqualTo(new Shape(2, 7, 6 / stride, 6 / stride)));
    }

    // Gated: y = conv(x, W) ⊙ sigmoid(conv(x, G)) + b, against plain float64 loops.
    [Test]
    public void Gated_conv2d_matches_the_formula_in_float64([Values(1, 2)] int stride)
    {
        var rng = Rand.ForTest();
        const int n = 2, cin = 3, cout = 5, h = 5, k = 3;
        using var conv = new Conv2d(Device.Cpu, cin, cout, k, rng, stride: stride, gated: true);
        Assert.That(conv.Parameters().Select(p => p.Name), Is.EqualTo(new[] { "weight", "bias", "gate_weight" }));
        conv.Bias.Storage.CopyFrom(Check.ToFloat(Rand.Normal(rng, cout)));
        var x = Check.ToFloat(Rand.Normal(rng, n * cin * h * h));
        var w = conv.Weight.ToArray(); var gw = conv.Gate!.ToArray(); var b = conv.Bias.ToArray();
        int oh = (h + 2 * (k / 2) - k) / stride + 1;
        var expected = new double[n * cout * oh * oh];
        for (int i = 0; i < n; i++)
        for (int co = 0; co < cout; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < oh; ox++)
        {
            double a = 0, g = 0;
            for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int iy = oy * stride + ky - k / 2, ix = ox * stride + kx - k / 2;
                if (iy < 0 || iy >= h || ix < 0 || ix >= h) continue;
                double xv = x[((i * cin + ci) * h + iy) * h + ix];
                a += xv * w[((co * cin + ci) * k + ky) * k + kx];
                g += xv * gw[((co * cin + ci) * k + ky) * k + kx];
            }
            expected[((i * cout + co) * oh + oy) * oh + ox] = a / (1 + Math.Exp(-g)) + b[co];
        }
        using var tape = new Tape();
        var y = conv.Forward(Tape.Own(Tensor.FromArray(x, new Shape(n, cin, h, h))));
        Check.Close(y.ToArray(), expected, 1e-5, "gated conv");
    }

    [Test]
    public void Positional_embedding_is_sin_then_cos_with_frequencies_from_1_to_1e_minus_4()
    {
        var pe = new PositionalEmbedding(8);
        float[] labels = [0f, 2f, -0.75f];
        using var tape = new Tape();
        var e = pe.Forward(Tape.Own(Tensor.FromArray(labels, 3))).ToArray();
        double[] f = [1, Math.Pow(10, -4.0 / 3), Math.Pow(10, -8.0 / 3), 1e-4]; // 10000^(−j/3), endpoint included
        for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
        {
            Assert.That(e[i * 8 + j], Is.EqualTo(Math.Sin(labels[i] * f[j])).Within(1e-6), $"sin, label {i}, freq {j}");
            Assert.That(e[i * 8 + 4 + j], Is.EqualTo(Math.Cos(labels[i] * f[j])).Within(1e-6), $"cos, label {i}, freq {j}");
        }
        Assert.Throws<ArgumentException>(() => new PositionalEmbedding(7));
        var err = Assert.Throws<ArgumentException>(() => pe.Forward(Tape.Own(Tensor.Zeros(new Shape(3, 1)))))!;
        Assert.That(err.Message, Does.Contain("[3, 1]"));
    }

    // Attention in float64 loops, reading q, k, v at EDM's interleaved channels 3c, 3c + 1, 3c + 2.
    private static double[] AttentionRef(double[] qkv, int n, int c, int hw)
    {
        var y = new double[n * c * hw];
        double At(int b, int ch, int j, int part) => qkv[(b * 3 * c + 3 * ch + part) * hw + j];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < hw; i++)
        {
            var logits = new double[hw];
            for (int j = 0; j < hw; j++)
                for (int ch = 0; ch < c; ch++) logits[j] += At(b, ch, i, 0) * At(b, ch, j, 1) / Math.Sqrt(c);
            double max = logits.Max(), sum = 0;
            for (int j = 0; j < hw; j++) sum += logits[j] = Math.Exp(logits[j] - max);
            for (int ch = 0; ch < c; ch++)
                for (int j = 0; j < hw; j++) y[(b * c + ch) * hw + i] += logits[j] / sum * At(b, ch, j, 2);
        }
        return y;
    }

    [Test]
    // Forward: the fused op on the reference and ILGPU backends, the composition on the fast one; Composed: the GEMM +
    // softmax composition on every backend (CUDA C's attention path, so its CPU specification stays tested).
    public void Attention_matches_float64_loops_forward_and_backward(
        [ValueSource(typeof(CpuDevices), nameof(CpuDevices.All))] Device device, [Values] bool composed)
    {
        var rng = Rand.ForTest();
        const int n = 2, c = 5, h = 3, w = 2, hw = h * w;
        var qkv = Rand.Normal(rng, n * 3 * c * hw);
        var gy = Rand.Normal(rng, n * c * hw);
        using var tape = new Tape();
        using var x = Tensor.FromArray(Check.ToFloat(qkv), new Shape(n, 3 * c, h, w), device).RequireGrad();
        var y = composed ? Attention.Composed(x) : Attention.Forward(x);
        Assert.That(y.Shape, Is.EqualTo(new Shape(n, c, h, w)));
        Check.Close(y.ToArray(), AttentionRef(qkv, n, c, hw), 1e-5, $"forward on {device}");
        tape.Backward(y, Tape.Own(Tensor.FromArray(Check.ToFloat(gy), y.Shape, device)));
        // Central differences of the float64 loops (exact to ~1e-9) against the tape's float32 gradient.
        var numeric = new double[qkv.Length];
        for (int i = 0; i < qkv.Length; i++)
        {
            double orig = qkv[i];
            qkv[i] = orig + 1e-6; double lp = GradCheck.Dot(gy, AttentionRef(qkv, n, c, hw));
            qkv[i] = orig - 1e-6; double lm = GradCheck.Dot(gy, AttentionRef(qkv, n, c, hw));
            qkv[i] = orig;
            numeric[i] = (lp - lm) / 2e-6;
        }
        Check.Close(x.Grad!.ToArray(), numeric, 1e-4, $"gradient on {device}");
    }
}
