using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Diffusion.Sampling;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

/// <summary>
/// The sampler against exact denoisers of known targets. Statistical tolerances: with M independent output values,
/// a sample mean has standard error sd/√M, a sample variance √((μ4 − v²)/M) (= v·√(2/M) for a Gaussian), a sample
/// correlation 1/√n over n vectors, a fraction √(P(1 − P)/M); each check allows 5 standard errors (a false alarm
/// about once in 1.7 million), plus the sampler's own bias where it is known. That bias: the sampler starts from
/// N(0, σmax²) instead of the data convolved with N(0, σmax²); for a Gaussian target the probability-flow ODE maps
/// x_T to μ + (x_T − μ)·κ, κ = s/√(s² + σmax²), so the output is N(μ(1 − κ), (σmax·κ)²): a mean shift of |μ|·κ ≈ |μ|·s/σmax.
/// </summary>
public class EdmSamplerTests
{
    private const double Mu = 0.3, S = 0.5, SigmaMax = Edm.SigmaMax;
    private static readonly double Kappa = S / Math.Sqrt(S * S + SigmaMax * SigmaMax);
    // A bimodal target per pixel: 0.3·N(−0.6, 0.15²) + 0.7·N(0.4, 0.25²).
    private static readonly double[] Wk = [0.3, 0.7], Mk = [-0.6, 0.4], Sk = [0.15, 0.25];

    // Statistical tests run many steps so that Heun's own bias stays far below their tolerance (see the first test).
    private static readonly EdmSamplerOptions Deterministic = new() { Steps = 256 };
    private static readonly EdmSamplerOptions Stochastic = new() { Steps = 256, SChurn = 30, SMin = 0.01, SMax = 50 };

    private static float[] Sample(IDenoiser d, Shape shape, EdmSamplerOptions options, ulong seed, Rng? rng = null)
    {
        using var noise = Tensor.Randn(shape, new Rng(seed));
        using var x = EdmSampler.Sample(d, noise, options, rng);
        return x.ToArray();
    }

    /// <summary>
    /// The tensor sampler against a plain double-precision Heun loop (the specification, per value) on the Gaussian and the
    /// mixture denoisers, and the Gaussian case against the exact probability flow: z ↦ μ(1 − κ) + σmax·κ·z. The step
    /// error is second order: at the default 18 steps the output scale is 5.5 % too large (the variance 11 %), at 40 steps
    /// 1 %, at 256 steps 0.03 % — so the statistical tests below run 256 steps, where it is far below their tolerance.
    /// </summary>
    [Test]
    public void Deterministic_Heun_matches_a_double_precision_reference_and_converges_to_the_exact_flow()
    {
        var shape = new Shape(64, 1, 1, 2);
        using var noise = Tensor.Randn(shape, Rand.ForTest());
        var z = noise.ToArray();
        var exactFlowError = new Dictionary<int, double>();
        foreach (int steps in new[] { 18, 40, 256 })
        {
            var options = new EdmSamplerOptions { Steps = steps };
            foreach (var (name, f) in new[] { ("Gaussian", Gaussian), ("mixture", Mixture) })
            {
                using var x = EdmSampler.Sample(new HostDenoiser(f), noise, options);
                var reference = z.Select(v => ReferenceHeun(f, SigmaMax * v, options.Sigmas())).ToArray();
                Check.Close(x.ToArray(), reference, 1e-5, $"{name}, {steps} steps: sampler vs double-precision Heun");
            }
            var exact = z.Select(v => Mu * (1 - Kappa) + SigmaMax * Kappa * v).ToArray();
            var heun = z.Select(v => ReferenceHeun(Gaussian, SigmaMax * v, options.Sigmas())).ToArray();
            exactFlowError[steps] = Check.RelErr(heun, exact);
        }
        TestContext.Out.WriteLine(string.Join(", ", exactFlowError.Select(kv => $"{kv.Key} steps: {kv.Value:E2}")));
        Assert.That(exactFlowError[18] / exactFlowError[40], Is.InRange(3.5, 7.0), "second order: error ∝ 1/N² (ratio (40/18)² ≈ 4.9)");
        Assert.That(exactFlowError[256], Is.LessThan(1e-3), "converges to the exact flow");
    }

    /// <summary>Karras et al. Algorithm 1 for one value, in double: the specification of the deterministic sampler.</summary>
    private static double ReferenceHeun(Func<double, double, double> d, double x, double[] sigmas)
    {
        for (int i = 0; i + 1 < sigmas.Length; i++)
        {
            double t = sigmas[i], next = sigmas[i + 1];
            double slope = (x - d(x, t)) / t, euler = x + (next - t) * slope;
            x = next == 0 ? euler : x + (next - t) * 0.5 * (slope + (euler - d(euler, next)) / next);
        }
        return x;
    }

    private static double Gaussian(double x, double sigma) => (S * S * x + sigma * sigma * Mu) / (S * S + sigma * sigma);
    private static readonly Func<double, double, double> Mixture = HostDenoiser.MixturePosteriorMean(Wk, Mk, Sk);

    [TestCase(false)]
    [TestCase(true)]
    public void Gaussian_target_mean_variance_and_covariance(bool stochastic)
    {
        const int n = 8192, dim = 4;
        var x = Sample(HostDenoiser.Gaussian(Mu, S), new Shape(n, 1, 2, 2), stochastic ? Stochastic : Deterministic, 11, new Rng(12));
        var (mean, variance) = Moments.Of(x);
        int m = x.Length;
        double v = S * S;
        Assert.That(mean, Is.EqualTo(Mu).Within(5 * S / Math.Sqrt(m) + Math.Abs(Mu) * Kappa), "mean");
        Assert.That(variance, Is.EqualTo(v).Within(5 * v * Math.Sqrt(2.0 / m)), "variance");
        for (int i = 0; i < dim; i++)
            for (int j = i + 1; j < dim; j++)
                Assert.That(Moments.Correlation(x, dim, i, j), Is.EqualTo(0).Within(5 / Math.Sqrt(n)), $"correlation of pixels {i} and {j}");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Gaussian_mixture_target_mean_variance_and_mode_weights(bool stochastic)
    {
        var x = Sample(new HostDenoiser(Mixture), new Shape(8192, 1, 2, 2), stochastic ? Stochastic : Deterministic, 21, new Rng(22));
        int m = x.Length;
        double mean = 0, second = 0;
        for (int k = 0; k < 2; k++) { mean += Wk[k] * Mk[k]; second += Wk[k] * (Sk[k] * Sk[k] + Mk[k] * Mk[k]); }
        double variance = second - mean * mean;
        var (gotMean, gotVar) = Moments.Of(x);
        double fourth = x.Select(v => Math.Pow(v - gotMean, 4)).Average(); // μ4 for the s.e. of the variance
        Assert.That(gotMean, Is.EqualTo(mean).Within(5 * Math.Sqrt(variance / m) + Math.Abs(mean) * Math.Sqrt(variance) / SigmaMax), "mean");
        Assert.That(gotVar, Is.EqualTo(variance).Within(5 * Math.Sqrt((fourth - variance * variance) / m)), "variance");
        // Mass of the left mode: P(x < −0.2) = Σ w_k Φ((−0.2 − m_k)/s_k).
        const double t = -0.2;
        double p = Wk[0] * Phi((t - Mk[0]) / Sk[0]) + Wk[1] * Phi((t - Mk[1]) / Sk[1]);
        double frac = x.Count(v => v < t) / (double)m;
        Assert.That(frac, Is.EqualTo(p).Within(5 * Math.Sqrt(p * (1 - p) / m)), "fraction in the left mode");
    }

    [Test]
    public void Churn_is_reproducible_from_the_seed_and_changes_the_samples()
    {
        var d = HostDenoiser.Gaussian(Mu, S);
        var shape = new Shape(8, 1, 3, 3);
        var a = Sample(d, shape, Stochastic, 5, new Rng(9));
        Assert.That(Sample(d, shape, Stochastic, 5, new Rng(9)), Is.EqualTo(a));
        Assert.That(Sample(d, shape, Stochastic, 5, new Rng(10)), Is.Not.EqualTo(a));
        Assert.That(Sample(d, shape, new EdmSamplerOptions(), 5), Is.Not.EqualTo(a));
    }

    [Test]
    public void Ambient_sampler_keeps_one_mask_clips_and_returns_D_at_the_last_step()
    {
        const int n = 4, c = 3, h = 6, w = 5, steps = 6;
        var rng = Rand.ForTest();
        var shape = new Shape(n, c, h, w);
        using var net = new StandInNet(c + 1, c, shape, rng, Device.Cpu, scale: 2f); // large outputs: clipping must act
        var spec = CorruptionSpec.PixelErase(0.4, delta: 0.1);
        using var mask = FixedMaskDenoiser.DrawMasks(spec, n, c, h, w, maskChannels: 1, rng);
        var recorder = new RecordingDenoiser(new FixedMaskDenoiser(new EdmPreconditioner(net), mask));
        using var noise = Tensor.Randn(shape, rng);
        using var x = EdmSampler.Sample(recorder, noise, new EdmSamplerOptions { Steps = steps });

        Assert.That(recorder.Outputs, Has.Count.EqualTo(2 * steps - 1), "denoiser calls");
        Assert.That(x.ToArray(), Is.EqualTo(recorder.Outputs[^1]), "the output is D at the last step");
        Assert.That(recorder.Outputs.SelectMany(o => o).All(v => v >= -1f && v <= 1f), "predictions clipped to [−1, 1]");
        Assert.That(net.Outputs.SelectMany(o => o).Any(v => Math.Abs(v) > 2), "the stand-in's raw outputs do leave [−1, 1]");
        var m = mask.ToArray();
        int plane = h * w;
        foreach (var input in net.Inputs)
            for (int s = 0; s < n; s++)
            {
                var seen = input.AsSpan((s * (c + 1) + c) * plane, plane);
                Assert.That(seen.SequenceEqual(m.AsSpan(s * plane, plane)), $"sample {s}: the same mask at every step");
                for (int ch = 0; ch < c; ch++)
                    for (int p = 0; p < plane; p++)
                        if (m[s * plane + p] == 0)
                            Assert.That(input[(s * (c + 1) + ch) * plane + p], Is.EqualTo(0f), "masked pixels are hidden from the network");
            }
    }

    [Test]
    public void Sampling_masks_keep_the_training_fraction_of_pixels()
    {
        var spec = CorruptionSpec.PixelErase(0.6, delta: 0.2);
        using var masks = FixedMaskDenoiser.DrawMasks(spec, 64, 3, 16, 16, maskChannels: 1, Rand.ForTest());
        Assert.That(masks.Shape, Is.EqualTo(new Shape(64, 1, 16, 16)));
        double p = (1 - 0.6) * (1 - 0.2), kept = masks.ToArray().Average();
        Assert.That(kept, Is.EqualTo(p).Within(5 * Math.Sqrt(p * (1 - p) / masks.Numel)), "survival (1 − p)(1 − δ)");
    }

    [Test]
    public void Early_stop_ends_with_D_at_sigma_n_and_never_goes_below()
    {
        // The output is E[x0 | x_σn] with x_σn ~ N(μ, s² + σn²) (up to the start bias): mean μ, variance s⁴/(s² + σn²).
        const double sigmaN = 0.2;
        const int steps = 128;
        var d = HostDenoiser.Gaussian(Mu, S);
        using var noise = Tensor.Randn(new Shape(8192, 1, 1, 2), Rand.ForTest());
        var reports = new List<int>();
        using var x = EdmSampler.SampleEarlyStop(d, noise, sigmaN, new EdmSamplerOptions { Steps = steps }, progress: new SyncProgress(reports.Add));

        Assert.That(d.Sigmas, Has.Count.EqualTo(2 * steps - 1), "denoiser calls");
        Assert.That(d.Sigmas[^1], Is.EqualTo((float)sigmaN), "the last call is at σn");
        Assert.That(d.Sigmas.Min(), Is.EqualTo((float)sigmaN), "never below σn");
        Assert.That(x.ToArray(), Is.EqualTo(d.LastOutput), "the output is D(x; σn)");
        Assert.That(reports, Is.EqualTo(Enumerable.Range(1, steps)), "progress");

        var (mean, variance) = Moments.Of(x.ToArray());
        double v = Math.Pow(S, 4) / (S * S + sigmaN * sigmaN);
        Assert.That(mean, Is.EqualTo(Mu).Within(5 * Math.Sqrt(v / x.Numel) + Math.Abs(Mu) * Kappa), "mean");
        Assert.That(variance, Is.EqualTo(v).Within(5 * v * Math.Sqrt(2.0 / x.Numel)), "variance");
    }

    [Test]
    public void Inpainting_reimposes_known_pixels_at_the_current_noise_level()
    {
        const int n = 2048, h = 2, w = 2, steps = 128;
        var rng = Rand.ForTest();
        var shape = new Shape(n, 1, h, w);
        var knownData = new float[n * h * w];
        rng.FillUniform(knownData, -1f, 1f);
        var maskData = new float[n * h * w];
        for (int i = 0; i < maskData.Length; i++) maskData[i] = i % 2; // pixels 1 and 3 known
        using var known = Tensor.FromArray(knownData, shape);
        using var mask = Tensor.FromArray(maskData, shape);
        using var noise = Tensor.Randn(shape, rng);
        var d = new HostDenoiser(Gaussian) { RecordInputs = true };
        var options = new EdmSamplerOptions { Steps = steps };
        using var x = EdmSampler.Inpaint(d, known, mask, noise, rng, options);

        var result = x.ToArray();
        var unknown = new List<float>();
        for (int i = 0; i < result.Length; i++)
            if (maskData[i] == 1) Assert.That(result[i], Is.EqualTo(knownData[i]), $"known pixel {i} restored exactly");
            else unknown.Add(result[i]);

        // Step i's first call sees known pixels at known + σ_i·ε: (x − known)/σ_i is standard normal there.
        var sigmas = options.Sigmas();
        int mKnown = result.Length / 2;
        for (int i = 0; i < steps; i++)
        {
            var input = d.Inputs[2 * i];
            Assert.That(d.Sigmas[2 * i], Is.EqualTo((float)sigmas[i]), $"call {2 * i} is step {i}'s first");
            var z = Enumerable.Range(0, input.Length).Where(k => maskData[k] == 1).Select(k => (float)((input[k] - knownData[k]) / sigmas[i])).ToArray();
            var (zm, zv) = Moments.Of(z);
            Assert.That(zm, Is.EqualTo(0).Within(5 / Math.Sqrt(mKnown)), $"step {i}: mean of re-imposed noise");
            Assert.That(zv, Is.EqualTo(1).Within(5 * Math.Sqrt(2.0 / mKnown)), $"step {i}: variance of re-imposed noise / σ_i²");
        }
        // Pixels are independent under this target, so the unknown ones keep the prior N(μ, s²).
        var (um, uv) = Moments.Of(unknown.ToArray());
        Assert.That(um, Is.EqualTo(Mu).Within(5 * S / Math.Sqrt(unknown.Count) + Math.Abs(Mu) * Kappa), "unknown pixels: mean");
        Assert.That(uv, Is.EqualTo(S * S).Within(5 * S * S * Math.Sqrt(2.0 / unknown.Count)), "unknown pixels: variance");
    }

    [Test]
    public void Progress_and_cancellation()
    {
        var d = HostDenoiser.Gaussian(Mu, S);
        using var noise = Tensor.Randn(new Shape(2, 1, 2, 2), Rand.ForTest());
        var reports = new List<int>();
        using (EdmSampler.Sample(d, noise, new EdmSamplerOptions { Steps = 5 }, progress: new SyncProgress(reports.Add))) { }
        Assert.That(reports, Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));

        using var cts = new CancellationTokenSource();
        var seen = new List<int>();
        var progress = new SyncProgress(i => { seen.Add(i); if (i == 3) cts.Cancel(); });
        Assert.That(() => EdmSampler.Sample(d, noise, new EdmSamplerOptions { Steps = 10 }, progress: progress, cancellationToken: cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Is.EqualTo(new[] { 1, 2, 3 }), "stops at the next step boundary");
    }

    [Test]
    public void Bad_arguments_give_clear_errors()
    {
        var d = HostDenoiser.Gaussian(Mu, S);
        using var noise = Tensor.Randn(new Shape(2, 1, 2, 2), Rand.ForTest());
        using var flat = Tensor.Zeros(new Shape(2, 4));
        Assert.That(() => EdmSampler.Sample(d, noise, Stochastic), Throws.ArgumentException.With.Message.Contains("needs an Rng"));
        Assert.That(() => EdmSampler.Sample(d, flat), Throws.ArgumentException.With.Message.Contains("must be 4-D"));
        Assert.That(() => EdmSampler.Sample(d, noise, new EdmSamplerOptions { Steps = 1 }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("at least 2"));
        Assert.That(() => EdmSampler.Sample(d, noise, new EdmSamplerOptions { SChurn = -1 }), Throws.ArgumentException.With.Message.Contains("SChurn"));
        Assert.That(() => EdmSampler.SampleEarlyStop(d, noise, 90), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("σn 90"));
        using var mask = Tensor.Zeros(new Shape(2, 2, 2, 2));
        Assert.That(() => EdmSampler.Inpaint(d, noise, mask, noise, new Rng(1)), Throws.ArgumentException.With.Message.Contains("mask [2, 2, 2, 2] must be"));
    }

    /// <summary>Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| &lt; 1.5e-7: far below the tolerances here).</summary>
    private static double Phi(double z)
    {
        double x = Math.Abs(z) / Math.Sqrt(2), t = 1 / (1 + 0.3275911 * x);
        double erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.Exp(-x * x);
        return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; posts to a thread pool).</summary>
    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }

    private sealed class RecordingDenoiser(IDenoiser inner) : IDenoiser
    {
        public List<float[]> Outputs { get; } = [];
        public Tensor Denoise(Tensor x, Tensor sigma)
        {
            var d = inner.Denoise(x, sigma);
            Outputs.Add(d.ToArray());
            return d;
        }
    }
}
