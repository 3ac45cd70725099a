using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

public class TweedieLossTests
{
    // 1-D Gaussian data x0 ~ N(Mu, S²), observed with noise σn: x_tn = x0 + σn·η.
    private const double Mu = 0.2, S = 0.5, SigmaN = 0.2;

    /// <summary>
    /// The target x̂_tn = (1 − σn²/σ²)·E[x0|xt] + (σn²/σ²)·xt must be E[x_tn | xt]. For jointly Gaussian (x_tn, xt) the
    /// conditional mean is the least-squares regression, so the residual x_tn − x̂_tn must have mean 0 and be
    /// uncorrelated with xt, and its variance must be Var(x_tn | xt) = (S² + σn²)(σ² − σn²)/(S² + σ²).
    /// Tolerances: 5 standard errors of each sample mean over M draws (s.e. of a mean of products ≈ the product of stds / √M;
    /// s.e. of a sample variance = V·√(2/M)).
    /// </summary>
    [TestCase(0.25)]
    [TestCase(0.8)]
    [TestCase(5.0)]
    public void Tweedie_target_is_the_conditional_mean_of_the_noisy_data(double sigma)
    {
        var rng = Rand.ForTest();
        const int m = 200_000;
        double r = SigmaN * SigmaN / (sigma * sigma), up = Math.Sqrt(sigma * sigma - SigmaN * SigmaN);
        var e = new double[m];
        var xt = new double[m];
        for (int k = 0; k < m; k++)
        {
            double x0 = Mu + S * rng.NextNormal(), xtn = x0 + SigmaN * rng.NextNormal();
            xt[k] = xtn + up * rng.NextNormal();
            double posterior = (S * S * xt[k] + sigma * sigma * Mu) / (S * S + sigma * sigma);
            e[k] = xtn - ((1 - r) * posterior + r * xt[k]);
        }
        double v = (S * S + SigmaN * SigmaN) * (sigma * sigma - SigmaN * SigmaN) / (S * S + sigma * sigma);
        double xtMean = xt.Average(), xtStd = Math.Sqrt(S * S + sigma * sigma);
        double eMean = e.Average(), eCov = e.Zip(xt, (a, b) => a * (b - xtMean)).Average(), eVar = e.Select(a => a * a).Average();
        Assert.That(eMean, Is.EqualTo(0).Within(5 * Math.Sqrt(v / m)), "mean residual");
        Assert.That(eCov, Is.EqualTo(0).Within(5 * Math.Sqrt(v) * xtStd / Math.Sqrt(m)), "residual correlation with xt");
        Assert.That(eVar, Is.EqualTo(v).Within(5 * v * Math.Sqrt(2.0 / m)), "residual variance = Var(x_tn | xt)");
    }

    /// <summary>
    /// Through the objective: the closed-form E[x0|xt] reaches the minimum expected loss E[λ(σ)·Var(x_tn|xt)] per pixel,
    /// and perturbed predictors score higher. All predictors see the same σ, data and noise (common random numbers), so
    /// the differences are not swamped by sampling noise: for a shift by ε the expected gap is ε²·E[λ(1 − r)²] per pixel
    /// while the random part has s.e. 2ε·√(E[λ²(1 − r)²·V] / (N·P)) — at ε = 0.05 the gap is ≈ 8 s.e. (printed).
    /// </summary>
    [Test]
    public void Closed_form_posterior_mean_minimizes_the_expected_loss()
    {
        var rng = Rand.ForTest();
        const int n = 2048, p = 16;
        var shape = new Shape(n, 1, 4, 4);
        var sigma = new double[n];
        for (int i = 0; i < n; i++) sigma[i] = Edm.SampleTrainingSigma(rng, floor: SigmaN);
        var xtn = new float[n * p];
        for (int i = 0; i < xtn.Length; i++) xtn[i] = (float)(Mu + S * rng.NextNormal() + SigmaN * rng.NextNormal());
        using var y = Tensor.FromArray(xtn, shape);
        using var noise = Tensor.Randn(shape, rng);

        double LossOf(HostDenoiser d)
        {
            using var tape = new Tape();
            return new TweedieLoss(d, SigmaN).Compute(new TrainingBatch(y), sigma, noise).Loss.Item();
        }
        static double Exact(double x, double s) => (S * S * x + s * s * Mu) / (S * S + s * s);

        // Minimum: per sample P·λ·V, each pixel's term λ·V·χ²₁ has variance 2λ²V².
        double min = 0, varSum = 0, gap = 0, gapVar = 0;
        const double eps = 0.05;
        foreach (double s in sigma)
        {
            double lam = Edm.LossWeight(s), r = SigmaN * SigmaN / (s * s);
            double v = (S * S + SigmaN * SigmaN) * (s * s - SigmaN * SigmaN) / (S * S + s * s);
            min += p * lam * v / n;
            varSum += p * 2 * lam * lam * v * v;
            gap += p * lam * (1 - r) * (1 - r) * eps * eps / n;
            gapVar += p * 4 * eps * eps * lam * lam * (1 - r) * (1 - r) * v;
        }
        double exact = LossOf(new HostDenoiser(Exact));
        Assert.That(exact, Is.EqualTo(min).Within(5 * Math.Sqrt(varSum) / n), "exact posterior mean reaches E[λ·Var(x_tn | xt)]");
        TestContext.Out.WriteLine($"shift ε = {eps}: expected gap {gap:E3}, its s.e. {Math.Sqrt(gapVar) / n:E3}");

        var perturbed = new (string Name, HostDenoiser D)[]
        {
            ($"shift +{eps}", new((x, s) => Exact(x, s) + eps)),
            ($"shift −{eps}", new((x, s) => Exact(x, s) - eps)),
            ("shrunk 10 % toward μ", new((x, s) => Mu + 0.9 * (Exact(x, s) - Mu))),
            ("stretched 10 % from μ", new((x, s) => Mu + 1.1 * (Exact(x, s) - Mu))),
            // What plain EDM training on the noisy data would learn: the posterior mean of x_tn, noise included.
            ("E[x_tn | xt] (ignores σn)", HostDenoiser.Gaussian(Mu, Math.Sqrt(S * S + SigmaN * SigmaN))),
        };
        foreach (var (name, d) in perturbed)
            Assert.That(LossOf(d), Is.GreaterThan(exact), $"{name} must score worse than E[x0 | xt]");
    }

    // The fused loss (the default) and the unfused op chain, on every CPU backend.
    private static IEnumerable<TestCaseData> DevicesAndPaths() =>
        from d in CpuDevices.All from fused in new[] { true, false } select new TestCaseData(d, fused);

    [TestCaseSource(nameof(DevicesAndPaths))]
    public void Loss_terms_and_output_gradient_match_the_formulas(Device device, bool fused)
    {
        const int n = 4, c = 2, h = 3, w = 5, image = c * h * w;
        var shape = new Shape(n, c, h, w);
        var rng = Rand.ForTest();
        using var net = new StandInNet(c, c, shape, rng, device);
        var xtn = new float[n * image];
        rng.FillUniform(xtn, -1.2f, 1.2f);
        var clean = new float[n * image];
        rng.FillUniform(clean, -1f, 1f);
        var noise = new float[n * image];
        rng.FillNormal(noise);
        double[] sigma = [SigmaN, 0.3, 2, 50]; // the first sits at the floor: x̂_tn = xt = x_tn, no loss, no gradient
        using var ty = Tensor.FromArray(xtn, shape, device);
        using var tc = Tensor.FromArray(clean, shape, device);
        using var tn = Tensor.FromArray(noise, shape, device);
        using var tape = new Tape();
        var r = new TweedieLoss(new EdmPreconditioner(net), SigmaN) { Fused = fused }.Compute(new TrainingBatch(ty, Clean: tc), sigma, tn);
        tape.Backward(r.Loss);

        var f = net.Outputs.Single();
        double loss = 0, lossX0 = 0;
        var gradF = new double[f.Length];
        for (int i = 0; i < f.Length; i++)
        {
            double s = sigma[i / image], lam = Edm.LossWeight(s), ratio = SigmaN * SigmaN / (s * s);
            double xt = xtn[i] + Math.Sqrt(s * s - SigmaN * SigmaN) * noise[i];
            double x0Hat = Edm.CSkip(s) * xt + Edm.COut(s) * f[i];
            double xtnHat = (1 - ratio) * x0Hat + ratio * xt;
            loss += lam * (xtnHat - xtn[i]) * (xtnHat - xtn[i]) / n;
            lossX0 += lam * (x0Hat - clean[i]) * (x0Hat - clean[i]) / n;
            gradF[i] = 2.0 / n * lam * (xtnHat - xtn[i]) * (1 - ratio) * Edm.COut(s);
        }
        DiffusionTestData.Near(r.Loss.Item(), loss, 1e-5, "λ(σ)·‖x̂_tn − x_tn‖², summed over pixels, averaged over the batch");
        DiffusionTestData.Near(r.Terms["loss_x0"], lossX0, 1e-5, "diagnostic λ(σ)·‖x̂0 − x0‖²");
        Assert.That(r.Terms["at_sigma_n"], Is.EqualTo(0.25), "fraction of the batch at the floor");
        var g = net.Offset.Grad!.ToArray();
        Check.Close(g, gradF, 1e-5, "∂loss/∂F = 2/N·λ·(1 − σn²/σ²)·c_out·(x̂_tn − x_tn)");
        Assert.That(g.AsSpan(0, image).ToArray().All(v => v == 0), "a sample at σ = σn gets no gradient");
    }

    [Test]
    public void Draws_respect_the_floor_and_bad_levels_give_clear_errors()
    {
        var rng = Rand.ForTest();
        var shape = new Shape(64, 1, 1, 1);
        using var y = DiffusionTestData.Uniform(rng, shape, Device.Cpu);
        using var noise = Tensor.Randn(shape, rng);
        var loss = new TweedieLoss(HostDenoiser.Gaussian(Mu, S), 0.3);
        using var tape = new Tape();
        var r = loss.Compute(new TrainingBatch(y), new Rng(3));
        // P(σ_drawn < 0.3) = Φ((ln 0.3 + 1.2)/1.2) = 0.499; 5 s.e. of a fraction of 64 is 0.31.
        Assert.That(r.Terms["at_sigma_n"], Is.EqualTo(0.499).Within(0.31));
        Assert.That(() => new TweedieLoss(HostDenoiser.Gaussian(Mu, S), 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("σn"));
        var sigma = Enumerable.Repeat(1.0, 64).ToArray();
        sigma[5] = 0.29;
        Assert.That(() => loss.Compute(new TrainingBatch(y), sigma, noise), Throws.ArgumentException.With.Message.Contains("0.29 is below the data's σn = 0.3"));
    }

    /// <summary>
    /// Consistency with the exact denoiser: for a Gaussian target, one ancestral step σn → σ' keeps the conditional mean
    /// exact, so E[D(x'; σ') | x_tn] = D(x_tn; σn) and the term is only the spread of the k copies' mean: per pixel
    /// (V/k)·χ²₁ with V = a'²·σ'²·(1 − σ'²/σn²), a' = s²/(s² + σ'²). Expected value Σ P·V/k / N, s.e. √(Σ P·2(V/k)²) / N.
    /// A denoiser that is right at σn but off by 0.1 below it is inconsistent, and scores higher (by 0.1² per pixel).
    /// </summary>
    [TestCase(1)]
    [TestCase(4)]
    public void Consistency_of_the_exact_denoiser_is_only_the_spread_of_the_copies(int copies)
    {
        var rng = Rand.ForTest();
        const int n = 1024, p = 16;
        var shape = new Shape(n, 1, 4, 4);
        var xtn = new float[n * p];
        for (int i = 0; i < xtn.Length; i++) xtn[i] = (float)(Mu + Math.Sqrt(S * S + SigmaN * SigmaN) * rng.NextNormal());
        using var y = Tensor.FromArray(xtn, shape);
        var drawn = new double[n];
        for (int i = 0; i < n; i++) drawn[i] = i % 4 == 3 ? 0.5 : SigmaN * (0.05 + 0.9 * rng.NextFloat()); // a quarter above σn: ignored
        double expected = 0, variance = 0;
        foreach (double t in drawn.Where(t => t < SigmaN))
        {
            double a = S * S / (S * S + t * t), v = a * a * t * t * (1 - t * t / (SigmaN * SigmaN)) / copies;
            expected += p * v / n;
            variance += p * 2 * v * v;
        }
        var options = new TweedieConsistency(1, Copies: copies);
        double Consistency(HostDenoiser d)
        {
            using var tape = new Tape();
            return new TweedieLoss(d, SigmaN, consistency: options).ConsistencyLoss(new TrainingBatch(y), drawn, new Rng(5)).Item();
        }
        double exact = Consistency(HostDenoiser.Gaussian(Mu, S));
        Assert.That(exact, Is.EqualTo(expected).Within(5 * Math.Sqrt(variance) / n), "exact denoiser: copies' spread only");
        double inconsistent = Consistency(new HostDenoiser((x, t) =>
            (S * S * x + t * t * Mu) / (S * S + t * t) + (t < SigmaN * (1 - 1e-6) ? 0.1 : 0)));
        Assert.That(inconsistent, Is.GreaterThan(expected + 5 * Math.Sqrt(variance) / n), "a denoiser inconsistent below σn");
    }

    [Test]
    public void Consistency_adds_to_the_total_after_the_unchanged_Tweedie_draws_and_back_propagates()
    {
        const int n = 8, c = 2, h = 4, w = 3;
        var shape = new Shape(n, c, h, w);
        var rng = Rand.ForTest();
        using var net = new StandInNet(c, c, new Shape(1, c, h, w), rng, Device.Cpu); // offset broadcasts over any sub-batch
        using var y = DiffusionTestData.Uniform(rng, shape, Device.Cpu);
        var pre = new EdmPreconditioner(net);
        const double sigmaN = 0.5; // about 70 % of the draws fall below it
        double plain;
        using (var tape = new Tape())
            plain = new TweedieLoss(pre, sigmaN).Compute(new TrainingBatch(y), new Rng(9)).Terms["loss"];

        using var tape2 = new Tape();
        var r = new TweedieLoss(pre, sigmaN, consistency: new TweedieConsistency(0.5, Copies: 2, Steps: 2)).Compute(new TrainingBatch(y), new Rng(9));
        Assert.That(r.Terms["tweedie"], Is.EqualTo(plain), "the Tweedie part draws first, so it is unchanged");
        Assert.That(r.Terms["consistency"], Is.GreaterThan(0));
        DiffusionTestData.Near(r.Terms["loss"], plain + 0.5 * r.Terms["consistency"], 1e-6, "total = Tweedie + c·consistency");
        tape2.Backward(r.Loss);
        foreach (var p in net.Parameters)
            Assert.That(p.Grad!.ToArray().All(float.IsFinite) && p.Grad.ToArray().Any(v => v != 0), $"gradient of {p.Name}");
        Assert.That(() => new TweedieConsistency(1, Copies: 0).Validate(), Throws.ArgumentException.With.Message.Contains("Copies"));
    }
}
