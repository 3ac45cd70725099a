using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Diffusion.Losses;

/// <summary>
/// The Ambient Diffusion loss (METHOD §2) on a dataset that holds only y = A⊙x0, A and Ã:
/// loss = mean over the batch of λ(σ)·‖A⊙(D(xt; σ, Ã) − y)‖², summed over pixels, with the network shown
/// concat[Ã⊙xt, Ã] through the preconditioning.
/// </summary>
/// <remarks>
/// Which quantity gets noise: the reference code (giannisdaras/ambient-diffusion, AmbientLoss) adds σ·n to the clean
/// image and masks with Ã, giving Ã⊙(x0 + σn). That needs no clean pixel: Ã ⊆ A, so Ã⊙(x0 + σn) = Ã⊙(y + σn), and here
/// xt = y + σn is passed to the preconditioner, which applies Ã itself. Erased pixels of y are never read: the network
/// input is masked by Ã and the loss by A, so whatever the dataset holds there (zeros, or anything) changes nothing.
/// Back-propagated: the A-pixel loss (the reference code's "val_loss", its Eq. 100), whose minimizer is E[x0 | Ã⊙xt, Ã].
/// With <see cref="HiddenPixelPreconditioning.AsInfiniteNoise"/> (read from the denoiser) the pixels of A that Ã hides
/// are weighed by λ(∞) = 1/σd² instead of λ(σ), to match their output scale σd: "loss" is then
/// λ(σ)·‖Ã⊙(D − y)‖² + (1/σd²)·‖(A − Ã)⊙(D − y)‖² (Ã ⊆ A, so A − Ã is the 0/1 mask of those pixels). Same minimizer.
/// </remarks>
public sealed class AmbientLoss : ITrainingObjective
{
    private readonly Draws _draws = new();

    /// <param name="denoiser">The preconditioned masked network (its network takes image plus mask channels).</param>
    public AmbientLoss(EdmPreconditioner denoiser, double pMean = Edm.PMean, double pStd = Edm.PStd)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        if (!denoiser.IsMasked)
            throw new ArgumentException("AmbientLoss: the network takes no mask channels; Ambient Diffusion needs concat[Ã⊙xt, Ã] as input.");
        Denoiser = denoiser;
        PMean = pMean;
        PStd = pStd;
    }

    public EdmPreconditioner Denoiser { get; }
    public double PMean { get; }
    public double PStd { get; }

    private bool HiddenAsInfiniteNoise => Denoiser.HiddenPixels == HiddenPixelPreconditioning.AsInfiniteNoise;
    /// <summary>λ(∞) = 1/σd²: the loss weight of a pixel whose output scale is σd.</summary>
    private static double HiddenWeight => 1 / (Edm.SigmaData * Edm.SigmaData);

    /// <summary>
    /// True (the default): the network input and the loss are each one fused pass (<see cref="Ops.AmbientInput"/>,
    /// <see cref="Ops.AmbientLossFused"/>); false: the same quantities from the unfused op chain (kept as their test).
    /// Results agree to float rounding. The masks must be 0/1 (as a corrupted dataset's are): the fused loss weighs
    /// by A, the unfused by A².
    /// </summary>
    public bool Fused { get; set; } = true;

    /// <summary>Draws σ (one per sample), then the noise, from <paramref name="rng"/>; see <see cref="Compute(TrainingBatch, ReadOnlySpan{double}, Tensor)"/>.</summary>
    public ObjectiveResult Compute(TrainingBatch batch, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var y = batch.Observed;
        var sigma = Draws.Sigmas(batch.Size, rng, PMean, PStd);
        return Compute(batch, sigma, _draws.Noise(y.Shape, rng, y.Device));
    }

    /// <summary>
    /// The loss for given σ [N] and standard normal noise n. Terms: "loss" (A's pixels, back-propagated),
    /// "loss_atilde" (the same on Ã's pixels, the ones the network saw) and, when the batch carries clean images,
    /// "loss_all" (all pixels against x0; a diagnostic that a user with corrupted data cannot compute).
    /// </summary>
    public ObjectiveResult Compute(TrainingBatch batch, ReadOnlySpan<double> sigma, Tensor noise)
    {
        const string name = nameof(AmbientLoss);
        Draws.Check(name, batch, sigma, noise);
        var y = batch.Observed;
        Draws.CheckMask(name, "mask A", batch.MaskA, y);
        Draws.CheckMask(name, "mask Ã", batch.MaskATilde, y);
        Tensor a = batch.MaskA!, aTilde = batch.MaskATilde!;
        var dev = y.Device;

        var sig = _draws.PerSample(sigma, s => s, dev, image: false);
        // λ per image: [N] for the fused loss, [N, 1, 1, 1] to broadcast over the unfused error.
        var lambda = _draws.PerSample(sigma, Edm.LossWeight, dev, image: !Fused);
        var hiddenWeight = HiddenAsInfiniteNoise ? _draws.PerSample(sigma, _ => HiddenWeight, dev, image: !Fused) : null;
        Tensor d;
        Func<Tensor, Tensor, Tensor> maskedLoss; // (mask, weight) → Σᵢ weightᵢ·‖mask⊙(D − y)‖² / N
        if (Fused)
        {
            // One pass builds the network input, one computes each loss (and one its gradient w.r.t. D).
            d = Denoiser.DenoiseNoised(y, noise, sig, aTilde);
            maskedLoss = (m, w) => Ops.AmbientLossFused(d, y, m, w);
        }
        else
        {
            var xt = y + _draws.PerSample(sigma, s => s, dev) * noise;
            d = Denoiser.Denoise(xt, sig, aTilde);
            var err = d - y;
            maskedLoss = (m, w) => Draws.WeightedSquaredError(m * err, w);
        }
        Tensor loss;
        var terms = new Dictionary<string, double>();
        if (hiddenWeight != null)
        {
            var lossATilde = maskedLoss(aTilde, lambda);
            loss = lossATilde + maskedLoss(a - aTilde, hiddenWeight);
            terms["loss"] = loss.Item();
            terms["loss_atilde"] = lossATilde.Item();
        }
        else
        {
            loss = maskedLoss(a, lambda);
            terms["loss"] = loss.Item();
            using (NoGrad.Scope())
                terms["loss_atilde"] = maskedLoss(aTilde, lambda).Item();
        }
        if (batch.Clean is { } x0)
            using (NoGrad.Scope())
                terms["loss_all"] = Draws.WeightedSquaredError(d - x0, _draws.PerSample(sigma, Edm.LossWeight, dev)).Item();
        return new ObjectiveResult(loss, terms);
    }
}
