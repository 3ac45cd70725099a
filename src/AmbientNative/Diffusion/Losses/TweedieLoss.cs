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
/// below σn). The consistency loss that would supervise them is not implemented; sampling stops at σn instead
/// (<see cref="Sampling.EdmSampler.SampleEarlyStop"/>).
/// </remarks>
public sealed class TweedieLoss : ITrainingObjective
{
    private readonly Draws _draws = new();

    /// <param name="denoiser">D: usually an <see cref="EdmPreconditioner"/> around the (unmasked) network being trained.</param>
    /// <param name="sigmaN">σn, the std of the data's Gaussian noise (in the [−1, 1] pixel scale).</param>
    public TweedieLoss(IDenoiser denoiser, double sigmaN, double pMean = Edm.PMean, double pStd = Edm.PStd)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        if (!(sigmaN > 0 && double.IsFinite(sigmaN)))
            throw new ArgumentOutOfRangeException(nameof(sigmaN), $"TweedieLoss: σn must be finite and positive (got {sigmaN}).");
        Denoiser = denoiser;
        SigmaN = sigmaN;
        PMean = pMean;
        PStd = pStd;
    }

    public IDenoiser Denoiser { get; }
    public double SigmaN { get; }
    public double PMean { get; }
    public double PStd { get; }

    /// <summary>Draws σ = max(σ_drawn, σn) per sample, then the noise, from <paramref name="rng"/>; see <see cref="Compute(TrainingBatch, ReadOnlySpan{double}, Tensor)"/>.</summary>
    public ObjectiveResult Compute(TrainingBatch batch, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var y = batch.Observed;
        var sigma = Draws.Sigmas(batch.Size, rng, PMean, PStd, floor: SigmaN);
        return Compute(batch, sigma, _draws.Noise(y.Shape, rng, y.Device));
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
        var xtnHat = _draws.PerSample(sigma, s => 1 - sn2 / (s * s), dev) * x0Hat + _draws.PerSample(sigma, s => sn2 / (s * s), dev) * xt;
        var weight = _draws.PerSample(sigma, Edm.LossWeight, dev);
        var loss = Draws.WeightedSquaredError(xtnHat - xtn, weight);

        var terms = new Dictionary<string, double> { ["loss"] = loss.Item(), ["at_sigma_n"] = (double)atFloor / sigma.Length };
        if (batch.Clean is { } x0)
            using (NoGrad.Scope())
                terms["loss_x0"] = Draws.WeightedSquaredError(x0Hat - x0, weight).Item();
        return new ObjectiveResult(loss, terms);
    }
}
