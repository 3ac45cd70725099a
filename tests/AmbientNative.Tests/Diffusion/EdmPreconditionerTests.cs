using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

public class EdmPreconditionerTests
{
    private const int N = 3, C = 2, H = 5, W = 4, Plane = H * W, Image = C * Plane;
    // Spans the regimes: c_skip ≈ 1 at small σ, c_out ≈ σd at large σ.
    private static readonly double[] Sigma = [0.01, 0.7, 40];

    [TestCaseSource(typeof(DiffusionTestData), nameof(DiffusionTestData.Devices))]
    public void Unmasked_matches_the_formula(Device device)
    {
        var rng = Rand.ForTest();
        using var net = new StandInNet(C, C, new Shape(N, C, H, W), rng, device);
        var pre = new EdmPreconditioner(net);
        using var x = DiffusionTestData.Uniform(rng, new Shape(N, C, H, W), device, -3f, 3f);
        using var sigma = Tensor.FromArray(Check.ToFloat(Sigma), new Shape(N), device);
        using var tape = new Tape();
        var d = pre.Denoise(x, sigma).ToArray();

        var xs = x.ToArray();
        var input = net.Inputs.Single();
        var f = net.Outputs.Single();
        var expected = new double[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            double s = Sigma[i / Image];
            Assert.That(input[i], Is.EqualTo(Edm.CIn(s) * xs[i]).Within(1e-4).Percent, $"F's input at {i}");
            expected[i] = Edm.CSkip(s) * xs[i] + Edm.COut(s) * f[i];
        }
        Check.Close(d, expected, 1e-6, "D = c_skip·x + c_out·F(c_in·x, c_noise)");
        Check.Close(net.NoiseLabels.Single(), Sigma.Select(s => Math.Log(s) / 4).ToArray(), 1e-6, "c_noise = ln σ / 4");
    }

    [TestCaseSource(typeof(DiffusionTestData), nameof(DiffusionTestData.Devices))]
    public void Masked_input_is_scaled_masked_image_then_unscaled_mask(Device device)
    {
        foreach (bool expandedMask in new[] { false, true })
        {
            var rng = Rand.ForTest(expandedMask ? 1 : 0);
            using var net = new StandInNet(C + 1, C, new Shape(N, C, H, W), rng, device);
            var pre = new EdmPreconditioner(net);
            Assert.That(pre.MaskChannels, Is.EqualTo(1));

            var xs = new float[N * Image];
            rng.FillUniform(xs, -3f, 3f);
            var plane = new float[N * Plane];
            for (int i = 0; i < plane.Length; i++) plane[i] = rng.NextFloat() < 0.5f ? 0f : 1f;
            // A shared mask arrives either as one channel or expanded over the image channels (as CopyBatch gives it).
            var maskData = expandedMask ? Expand(plane) : plane;
            using var x = Tensor.FromArray(xs, new Shape(N, C, H, W), device);
            using var mask = Tensor.FromArray(maskData, new Shape(N, expandedMask ? C : 1, H, W), device);
            using var sigma = Tensor.FromArray(Check.ToFloat(Sigma), new Shape(N), device);

            using var tape = new Tape();
            var d = pre.Denoise(x, sigma, mask).ToArray();
            var input = net.Inputs.Single();
            var f = net.Outputs.Single();
            var expected = new double[xs.Length];
            for (int n = 0; n < N; n++)
            {
                double s = Sigma[n];
                for (int c = 0; c <= C; c++)
                    for (int p = 0; p < Plane; p++)
                    {
                        float m = plane[n * Plane + p];
                        float got = input[(n * (C + 1) + c) * Plane + p];
                        if (c == C)
                            Assert.That(got, Is.EqualTo(m), $"mask channel of sample {n} at pixel {p}: must arrive unscaled");
                        else
                        {
                            int i = (n * C + c) * Plane + p;
                            double masked = m * xs[i];
                            Assert.That(got, Is.EqualTo(Edm.CIn(s) * masked).Within(1e-4).Percent, $"image channel {c} of sample {n} at pixel {p}");
                            expected[i] = Edm.CSkip(s) * masked + Edm.COut(s) * f[i];
                        }
                    }
            }
            Check.Close(d, expected, 1e-6, $"D = c_skip·(Ã⊙x) + c_out·F (mask {(expandedMask ? "expanded" : "one channel")})");
        }
    }

    /// <summary>
    /// AsInfiniteNoise: D = c_skip·(Ã⊙x) + (Ã·c_out + (1 − Ã)·σd)·F, for a one-channel, an expanded and a per-channel
    /// mask, through both entry points (Denoise on x, and the fused DenoiseNoised on y + σ·n). Hidden pixels get σd·F.
    /// </summary>
    [TestCaseSource(typeof(DiffusionTestData), nameof(DiffusionTestData.Devices))]
    public void Hidden_pixels_as_infinite_noise_match_the_formula(Device device)
    {
        foreach (var (layout, netMaskChannels, maskChannels) in new[] { ("one channel", 1, 1), ("expanded", 1, C), ("per channel", C, C) })
        foreach (bool noised in new[] { false, true })
        {
            var rng = Rand.ForTest(3 * netMaskChannels + maskChannels + (noised ? 1 : 0));
            using var net = new StandInNet(C + netMaskChannels, C, new Shape(N, C, H, W), rng, device);
            var pre = new EdmPreconditioner(net) { HiddenPixels = HiddenPixelPreconditioning.AsInfiniteNoise };
            var ys = new float[N * Image];
            var ns = new float[N * Image];
            rng.FillUniform(ys, -1f, 1f);
            rng.FillNormal(ns);
            var maskData = new float[N * maskChannels * Plane];
            for (int i = 0; i < maskData.Length; i++) maskData[i] = rng.NextFloat() < 0.5f ? 0f : 1f;
            if (netMaskChannels == 1 && maskChannels == C) maskData = Expand(maskData.AsSpan(0, N * Plane).ToArray()); // one shared mask, given expanded
            using var y = Tensor.FromArray(ys, new Shape(N, C, H, W), device);
            using var noise = Tensor.FromArray(ns, new Shape(N, C, H, W), device);
            using var mask = Tensor.FromArray(maskData, new Shape(N, maskChannels, H, W), device);
            using var sigma = Tensor.FromArray(Check.ToFloat(Sigma), new Shape(N), device);

            using var tape = new Tape();
            float[] d;
            if (noised) d = pre.DenoiseNoised(y, noise, sigma, mask).ToArray();
            else
            {
                var x = y + noise * AmbientNative.Autograd.Ops.Reshape(sigma, N, 1, 1, 1);
                d = pre.Denoise(x, sigma, mask).ToArray();
            }
            var f = net.Outputs.Single();
            var expected = new double[d.Length];
            for (int i = 0; i < expected.Length; i++)
            {
                int n = i / Image, c = i / Plane % C, p = i % Plane;
                double s = Sigma[n], m = maskData[(n * maskChannels + (maskChannels == 1 ? 0 : c)) * Plane + p];
                double x = ys[i] + s * (double)ns[i];
                expected[i] = Edm.CSkip(s) * m * x + (m * Edm.COut(s) + (1 - m) * Edm.SigmaData) * f[i];
            }
            Check.Close(d, expected, 1e-5, $"D with hidden pixels at σ = ∞'s c_out ({layout} mask, {(noised ? "DenoiseNoised" : "Denoise")})");
        }
    }

    [Test]
    public void Per_channel_masks_feed_every_channel()
    {
        var rng = Rand.ForTest();
        using var net = new StandInNet(2 * C, C, new Shape(N, C, H, W), rng, Device.Cpu);
        var pre = new EdmPreconditioner(net);
        var maskData = new float[N * Image];
        for (int i = 0; i < maskData.Length; i++) maskData[i] = rng.NextFloat() < 0.5f ? 0f : 1f;
        using var x = DiffusionTestData.Uniform(rng, new Shape(N, C, H, W), Device.Cpu);
        using var mask = Tensor.FromArray(maskData, new Shape(N, C, H, W));
        using var sigma = Tensor.Full(new Shape(N), 2f);
        using var tape = new Tape();
        pre.Denoise(x, sigma, mask);
        var input = net.Inputs.Single();
        for (int n = 0; n < N; n++)
            Assert.That(input.AsSpan((n * 2 * C + C) * Plane, Image).SequenceEqual(maskData.AsSpan(n * Image, Image)), $"mask channels of sample {n}");
    }

    [Test]
    public void Bad_shapes_and_misuse_give_clear_errors()
    {
        var rng = Rand.ForTest();
        using var plain = new StandInNet(C, C, new Shape(N, C, H, W), rng, Device.Cpu);
        using var masked = new StandInNet(C + 1, C, new Shape(N, C, H, W), rng, Device.Cpu);
        using var odd = new StandInNet(C + 3, C, new Shape(N, C, H, W), rng, Device.Cpu);
        var pre = new EdmPreconditioner(plain);
        var preMasked = new EdmPreconditioner(masked);
        using var x = DiffusionTestData.Uniform(rng, new Shape(N, C, H, W), Device.Cpu);
        using var sigma = Tensor.Full(new Shape(N), 1f);

        Assert.That(() => new EdmPreconditioner(odd), Throws.ArgumentException.With.Message.Contains("5 input and 2 output"));
        Assert.That(() => pre.Denoise(x, sigma), Throws.InvalidOperationException.With.Message.Contains("Tape"));
        using var tape = new Tape();
        using var x3 = Tensor.Zeros(new Shape(N, 3, H, W));
        Assert.That(() => pre.Denoise(x3, sigma), Throws.ArgumentException.With.Message.Contains("[3, 3, 5, 4] has 3 channels"));
        using var sigma2 = Tensor.Full(new Shape(N - 1), 1f);
        Assert.That(() => pre.Denoise(x, sigma2), Throws.ArgumentException.With.Message.Contains("sigma [2] must be [3]"));
        Assert.That(() => preMasked.Denoise(x, sigma), Throws.InvalidOperationException.With.Message.Contains("FixedMaskDenoiser"));
        using var badMask = Tensor.Full(new Shape(N, 1, H, W + 1), 1f);
        Assert.That(() => preMasked.Denoise(x, sigma, badMask), Throws.ArgumentException.With.Message.Contains("mask [3, 1, 5, 5] does not fit x [3, 2, 5, 4]"));
        using var mask = Tensor.Full(new Shape(N, 1, H, W), 1f);
        Assert.That(() => pre.Denoise(x, sigma, mask), Throws.InvalidOperationException.With.Message.Contains("no mask channels"));
    }

    private static float[] Expand(float[] plane)
    {
        var e = new float[N * Image];
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                plane.AsSpan(n * Plane, Plane).CopyTo(e.AsSpan(n * Image + c * Plane));
        return e;
    }
}
