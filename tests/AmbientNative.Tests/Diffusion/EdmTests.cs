using AmbientNative.Diffusion;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

public class EdmTests
{
    private static readonly double[] Sigmas = [0.002, 0.01, 0.1, 0.5, 1, 2.5, 10, 80];
    private const double Sd = Edm.SigmaData;

    [Test]
    public void Preconditioning_matches_the_equations()
    {
        foreach (double s in Sigmas)
        {
            double v = s * s + Sd * Sd;
            Assert.That(Edm.CSkip(s), Is.EqualTo(0.25 / v).Within(1e-15).Percent, $"c_skip({s})");
            Assert.That(Edm.COut(s), Is.EqualTo(0.5 * s / Math.Sqrt(v)).Within(1e-13).Percent, $"c_out({s})");
            Assert.That(Edm.CIn(s) * Edm.CIn(s) * v, Is.EqualTo(1).Within(1e-14), $"c_in({s})");
            Assert.That(Edm.CNoise(s), Is.EqualTo(Math.Log(s) / 4).Within(1e-15), $"c_noise({s})");
        }
    }

    [Test]
    public void Loss_weight_cancels_the_output_scale()
    {
        foreach (double s in Sigmas)
            Assert.That(Edm.LossWeight(s) * Edm.COut(s) * Edm.COut(s), Is.EqualTo(1).Within(1e-13), $"λ·c_out² at σ = {s}");
    }

    [Test]
    public void Network_target_has_unit_variance_for_data_of_std_sigma_data()
    {
        // F's target is (x0 − c_skip·(x0 + σn)) / c_out; for Var x0 = σd², its variance is
        // ((1 − c_skip)²σd² + c_skip²σ²) / c_out² = 1 — the identity EDM derives c_skip and c_out from.
        foreach (double s in Sigmas)
        {
            double cs = Edm.CSkip(s), co = Edm.COut(s);
            double variance = ((1 - cs) * (1 - cs) * Sd * Sd + cs * cs * s * s) / (co * co);
            Assert.That(variance, Is.EqualTo(1).Within(1e-12), $"σ = {s}");
        }
    }

    [Test]
    public void Limits_at_small_and_large_sigma()
    {
        Assert.That(Edm.CSkip(1e-9), Is.EqualTo(1).Within(1e-15), "D(x; σ→0) = x");
        Assert.That(Edm.COut(1e-9), Is.EqualTo(0).Within(1e-8));
        Assert.That(Edm.CSkip(1e6), Is.EqualTo(0).Within(1e-12), "D(x; σ→∞) = c_out·F");
        Assert.That(Edm.COut(1e6), Is.EqualTo(Sd).Within(1e-12));
    }

    [Test]
    public void Training_sigma_is_log_normal()
    {
        var rng = Rand.ForTest();
        const int n = 20000;
        var ln = new double[n];
        for (int i = 0; i < n; i++) ln[i] = Math.Log(Edm.SampleTrainingSigma(rng));
        double mean = ln.Average(), std = Math.Sqrt(ln.Sum(x => (x - mean) * (x - mean)) / (n - 1));
        Assert.That(mean, Is.EqualTo(Edm.PMean).Within(3 * Edm.PStd / Math.Sqrt(n)), "mean of ln σ");
        Assert.That(std, Is.EqualTo(Edm.PStd).Within(3 * Edm.PStd / Math.Sqrt(2.0 * n)), "std of ln σ");

        // Ambient Tweedie: σ = max(σ, σn).
        int floored = 0;
        for (int i = 0; i < 1000; i++)
        {
            double s = Edm.SampleTrainingSigma(rng, floor: 0.3);
            Assert.That(s, Is.GreaterThanOrEqualTo(0.3));
            if (s == 0.3) floored++;
        }
        // P(σ < 0.3) = Φ((ln 0.3 + 1.2) / 1.2) = 0.4987; 3σ of a binomial(1000) count is 47.
        Assert.That(floored, Is.EqualTo(498.7).Within(47.4), "draws raised to the floor");
    }

    [TestCase(18)]
    [TestCase(40)]
    [TestCase(2)]
    public void Sampler_schedule_endpoints_and_shape(int steps)
    {
        var s = Edm.SamplerSigmas(steps);
        Assert.That(s, Has.Length.EqualTo(steps + 1));
        Assert.That(s[0], Is.EqualTo(80).Within(1e-12).Percent, "σ_0 = σmax");
        Assert.That(s[steps - 1], Is.EqualTo(0.002).Within(1e-12).Percent, "σ_{N−1} = σmin");
        Assert.That(s[steps], Is.EqualTo(0), "σ_N = 0");
        for (int i = 0; i < steps; i++) Assert.That(s[i + 1], Is.LessThan(s[i]), $"σ_{i + 1} < σ_{i}");
        // σ^(1/ρ) is linear in the step index.
        for (int i = 1; i < steps - 1; i++)
        {
            double d2 = Math.Pow(s[i + 1], 1 / 7.0) - 2 * Math.Pow(s[i], 1 / 7.0) + Math.Pow(s[i - 1], 1 / 7.0);
            Assert.That(d2, Is.EqualTo(0).Within(1e-12), $"second difference of σ^(1/ρ) at step {i}");
        }
    }

    [Test]
    public void Sampler_schedule_matches_a_value_computed_independently()
    {
        // (80^(1/7) + 9/17·(0.002^(1/7) − 80^(1/7)))^7, evaluated in Python.
        Assert.That(Edm.SamplerSigmas(18)[9], Is.EqualTo(1.9233398370400518).Within(1e-10).Percent);
    }

    [Test]
    public void Sampler_schedule_rejects_bad_arguments()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Edm.SamplerSigmas(1))!.Message, Does.Contain("steps must be at least 2"));
        Assert.Throws<ArgumentException>(() => Edm.SamplerSigmas(10, sigmaMin: 1, sigmaMax: 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Edm.SamplerSigmas(10, rho: 0));
    }
}
