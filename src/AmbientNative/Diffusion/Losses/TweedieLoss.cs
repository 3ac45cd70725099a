using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Diffusion.Losses;

/// <summary>
/// The Ambient Tweedie loss (METHOD §3) for data x_tn = x0 + σn·η, where only x_tn is seen. With σ = max(σ_drawn, σn):
/// xt = x_tn + √(σ² − σn²)·n, x̂0 = D(xt; σ), x̂_tn = (1 − σn²/σ²)·x̂0 + (σn²/σ²)·xt, loss = mean over the batch of
/// λ(σ)·‖x̂_tn − x_tn‖² (summed over pixels).
/// </summary>
/// <remarks>
/// Why it works: xt is x0 + σ·(Gaussian), so E[x_tn | xt] = (1 − σn²/σ²)·E[x0 | xt] + (σn²/σ²)·xt (Tweedie's formula
/// applied at σn and at σ), and the loss, a regression of x_tn on xt, is minimized exactly by D = E[x0 | xt].
/// Draws floored to σ = σn give xt = x_tn and x̂_tn = xt: zero loss and no gradient (METHOD's "no direct supervision"
/// below σn). Those draws can instead feed the optional consistency term (<see cref="TweedieConsistency"/>, off by
/// default); without it, sample with <see cref="Sampling.EdmSampler.SampleEarlyStop"/>.
/// </remarks>
public sealed class TweedieLoss : ITrainingObjective
{
    private readonly Draws _draws = new();

    /// <param name="denoiser">D: usually an <see cref="EdmPreconditioner"/> around the (unmasked) network being trained.</param>
    /// <param name="sigmaN">σn, the std of the data's Gaussian noise (in the [−1, 1] pixel scale).</param>
    /// <param name="consistency">The consistency term for draws below σn; null (the default) leaves it off.</param>
    public TweedieLoss(IDenoiser denoiser, double sigmaN, double pMean = Edm.PMean, double pStd = Edm.PStd, TweedieConsistency? consistency = null)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        if (!(sigmaN > 0 && double.IsFinite(sigmaN)))
            throw new ArgumentOutOfRangeException(nameof(sigmaN), $"TweedieLoss: σn must be finite and positive (got {sigmaN}).");
        consistency?.Validate();
        Denoiser = denoiser;
        SigmaN = sigmaN;
        PMean = pMean;
        PStd = pStd;
        Consistency = consistency;
    }

    public IDenoiser Denoiser { get; }
    public double SigmaN { get; }
    public double PMean { get; }
    public double PStd { get; }
    public TweedieConsistency? Consistency { get; }

    /// <summary>
    /// True: the loss and its gradient are each one fused pass (<see cref="Ops.TweedieLossFused"/>); false: the same
    /// quantity from the unfused op chain (kept as its test). Results agree to float rounding. Null (the default):
    /// fused on the CPU backends; on CUDA the unfused chain of kernels that have run on a GPU, until
    /// kernels/tweedie_fused.cu (written without a GPU) has passed CudaTweedieFusedTests on one.
    /// </summary>
    public bool? Fused { get; set; }

    private bool UseFused(Device device) => Fused ?? device.Kind != DeviceKind.Cuda;

    /// <summary>
    /// Draws σ_drawn per sample, then the noise, from <paramref name="rng"/>, and computes the loss at σ = max(σ_drawn, σn)
    /// (see <see cref="Compute(TrainingBatch, ReadOnlySpan{double}, Tensor)"/>). With <see cref="Consistency"/> on, adds
    /// c·<see cref="ConsistencyLoss"/> for the draws below σn (its noise drawn next); "loss" is then the total, and
    /// "tweedie" and "consistency" its parts.
    /// </summary>
    public ObjectiveResult Compute(TrainingBatch batch, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var y = batch.Observed;
        var drawn = Draws.Sigmas(batch.Size, rng, PMean, PStd);
        var sigma = drawn.Select(s => Math.Max(s, SigmaN)).ToArray();
        var main = Compute(batch, sigma, _draws.Noise(y.Shape, rng, y.Device));
        if (Consistency is not { Coefficient: > 0 } c) return main;

        var consistency = ConsistencyLoss(batch, drawn, rng);
        var total = main.Loss + consistency * (float)c.Coefficient;
        var terms = new Dictionary<string, double>(main.Terms)
        {
            ["loss"] = total.Item(),
            ["tweedie"] = main.Terms["loss"],
            ["consistency"] = consistency.Item(),
        };
        return new ObjectiveResult(total, terms);
    }

    /// <summary>
    /// The loss for given σ [N] (each ≥ σn) and standard normal noise n. Terms: "loss"; "at_sigma_n", the fraction of
    /// samples at σ = σn (they contribute nothing); and, when the batch carries clean images, "loss_x0":
    /// λ(σ)·‖x̂0 − x0‖² averaged the same way (a diagnostic only).
    /// </summary>
    public ObjectiveResult Compute(TrainingBatch batch, ReadOnlySpan<double> sigma, Tensor noise)
    {
        const string name = nameof(TweedieLoss);
        Draws.Check(name, batch, sigma, noise);
        double sn = SigmaN, sn2 = sn * sn;
        int atFloor = 0;
        foreach (double s in sigma)
        {
            if (s < sn) throw new ArgumentException($"{name}: noise level {s} is below the data's σn = {sn}.");
            if (s == sn) atFloor++;
        }
        var xtn = batch.Observed;
        var dev = xtn.Device;

        var xt = xtn + _draws.PerSample(sigma, s => Math.Sqrt(s * s - sn2), dev) * noise;
        var x0Hat = Denoiser.Denoise(xt, _draws.PerSample(sigma, s => s, dev, image: false));
        // x̂_tn = a·x̂0 + b·xt with a = 1 − σn²/σ², b = σn²/σ²; loss weight λ(σ).
        Func<double, double> a = s => 1 - sn2 / (s * s), b = s => sn2 / (s * s);
        var loss = UseFused(dev)
            ? Ops.TweedieLossFused(x0Hat, xt, xtn, _draws.PerSampleRows(sigma, dev, a, b, Edm.LossWeight))
            : Draws.WeightedSquaredError(_draws.PerSample(sigma, a, dev) * x0Hat + _draws.PerSample(sigma, b, dev) * xt - xtn,
                _draws.PerSample(sigma, Edm.LossWeight, dev));

        var terms = new Dictionary<string, double> { ["loss"] = loss.Item(), ["at_sigma_n"] = (double)atFloor / sigma.Length };
        if (batch.Clean is { } x0)
            using (NoGrad.Scope())
                terms["loss_x0"] = Draws.WeightedSquaredError(x0Hat - x0, _draws.PerSample(sigma, Edm.LossWeight, dev)).Item();
        return new ObjectiveResult(loss, terms);
    }

    /// <summary>
    /// The consistency term (METHOD §3) for the samples whose drawn level σ'_i = <paramref name="sigmaDrawn"/>[i] is below σn,
    /// where the Tweedie loss gives no supervision. x_tn is an exact sample of p_σn, so the model's own prediction there,
    /// D(x_tn; σn), must equal the average of its predictions one sampler run further down: run
    /// <see cref="TweedieConsistency.Steps"/> ancestral steps from σn to σ'_i for <see cref="TweedieConsistency.Copies"/>
    /// independent copies, x ← D + (t'²/t²)·(x − D) + t'·√(1 − t'²/t²)·ε (levels geometric in between), and penalise
    /// ‖mean_k D(x^(k); σ'_i) − D(x_tn; σn)‖², summed over pixels and divided by the whole batch size N.
    /// The step's conditional mean E[x_t' | x_t] is exact for an exact D, so for a Gaussian target (D linear) the exact
    /// E[x0|x] is exactly consistent and only the copies' spread remains, shrinking as 1/k (what the tests check); for
    /// other targets the step is the usual ancestral approximation. The trajectories run without gradient; the gradient
    /// flows through both end predictions.
    /// Sub-batch selection uses Slice/Concat, so it runs on any backend. Returns 0 when no draw is below σn.
    /// </summary>
    public Tensor ConsistencyLoss(TrainingBatch batch, ReadOnlySpan<double> sigmaDrawn, Rng rng)
    {
        const string name = nameof(TweedieLoss) + ".ConsistencyLoss";
        var cfg = Consistency ?? throw new InvalidOperationException($"{name}: the loss was built without TweedieConsistency options.");
        ArgumentNullException.ThrowIfNull(rng);
        Draws.Check(name, batch, sigmaDrawn);
        var xtn = batch.Observed;
        var (n, ch, h, w) = xtn.Shape.Nchw(name);
        var dev = xtn.Device;

        var rows = new List<int>();
        var target = new List<double>();
        for (int i = 0; i < n; i++)
            if (sigmaDrawn[i] < SigmaN) { rows.Add(i); target.Add(sigmaDrawn[i]); }
        if (rows.Count == 0) return Tape.Own(Tensor.Zeros(new Shape([]), dev));
        int m = rows.Count, k = cfg.Copies, s = cfg.Steps;

        // Level j of copy c of sample i (row c·m + i of the copies): t_j = σn·(σ'_i/σn)^(j/s), from σn down to σ'_i.
        double[] Levels(int j) => Enumerable.Range(0, k * m).Select(r => SigmaN * Math.Pow(target[r % m] / SigmaN, (double)j / s)).ToArray();

        var x = Gather(xtn, rows);
        var anchor = Denoiser.Denoise(x, _draws.PerSample(Levels(0).AsSpan(0, m), v => v, dev, image: false));
        Tensor xs;
        using (NoGrad.Scope())
        {
            var d = Ops.Concat(0, Enumerable.Repeat(anchor, k).ToArray()); // D(x_tn; σn) for every copy: the anchor itself
            xs = Ops.Concat(0, Enumerable.Repeat(x, k).ToArray());
            for (int j = 0; j < s; j++)
            {
                double[] t = Levels(j), next = Levels(j + 1);
                if (j > 0) d = Denoiser.Denoise(xs, _draws.PerSample(t, v => v, dev, image: false));
                var ratio = new double[t.Length];
                for (int r = 0; r < t.Length; r++) ratio[r] = next[r] * next[r] / (t[r] * t[r]);
                var fresh = _draws.PerSample(ratio.Select((q, r) => next[r] * Math.Sqrt(1 - q)).ToArray(), v => v, dev);
                xs = d + _draws.PerSample(ratio, v => v, dev) * (xs - d) + fresh * _draws.Noise(xs.Shape, rng, dev);
            }
        }
        var final = Denoiser.Denoise(xs, _draws.PerSample(Levels(s), v => v, dev, image: false));
        var mean = Ops.Reshape(Ops.Mean(Ops.Reshape(final, k, m * ch * h * w), 0), m, ch, h, w);
        return Ops.Sum(Ops.Square(mean - anchor)) * (1f / n);
    }

    /// <summary>Rows <paramref name="rows"/> (ascending) of x along axis 0, one slice per contiguous run.</summary>
    private static Tensor Gather(Tensor x, List<int> rows)
    {
        var pieces = new List<Tensor>();
        for (int a = 0; a < rows.Count;)
        {
            int b = a + 1;
            while (b < rows.Count && rows[b] == rows[b - 1] + 1) b++;
            pieces.Add(Ops.Slice(x, 0, rows[a], b - a));
            a = b;
        }
        return pieces.Count == 1 ? pieces[0] : Ops.Concat(0, [.. pieces]);
    }
}

/// <summary>
/// The consistency term of Ambient Tweedie (METHOD §3; see <see cref="TweedieLoss.ConsistencyLoss"/>): weight c in
/// total = Tweedie + c·consistency, k copies, s sampler steps from σn down to the drawn σ'.
/// </summary>
public sealed record TweedieConsistency(double Coefficient, int Copies = 2, int Steps = 1)
{
    public void Validate()
    {
        if (!(Coefficient >= 0 && double.IsFinite(Coefficient)))
            throw new ArgumentException($"TweedieConsistency.Coefficient: {Coefficient} must be finite and ≥ 0.");
        if (Copies < 1) throw new ArgumentException($"TweedieConsistency.Copies: {Copies} must be at least 1.");
        if (Steps < 1) throw new ArgumentException($"TweedieConsistency.Steps: {Steps} must be at least 1.");
    }
}
