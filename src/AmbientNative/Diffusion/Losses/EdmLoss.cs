using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Diffusion.Losses;

/// <summary>
/// EDM's loss on clean data (METHOD §1): xt = x0 + σ·n, loss = mean over the batch of λ(σ)·‖D(xt; σ) − x0‖²
/// (summed over pixels), ln σ ~ N(pMean, pStd²). The batch's <see cref="TrainingBatch.Observed"/> is x0.
/// </summary>
public sealed class EdmLoss : ITrainingObjective
{
    private readonly Draws _draws = new();

    /// <param name="denoiser">D: usually an <see cref="EdmPreconditioner"/> around the network being trained.</param>
    public EdmLoss(IDenoiser denoiser, double pMean = Edm.PMean, double pStd = Edm.PStd)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        Denoiser = denoiser;
        PMean = pMean;
        PStd = pStd;
    }

    public IDenoiser Denoiser { get; }
    public double PMean { get; }
    public double PStd { get; }

    /// <summary>Draws σ (one per sample), then the noise, from <paramref name="rng"/>; see <see cref="Compute(TrainingBatch, ReadOnlySpan{double}, Tensor)"/>.</summary>
    public ObjectiveResult Compute(TrainingBatch batch, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x0 = batch.Observed;
        var sigma = Draws.Sigmas(batch.Size, rng, PMean, PStd);
        return Compute(batch, sigma, _draws.Noise(x0.Shape, rng, x0.Device));
    }

    /// <summary>The loss for given noise levels σ [N] and standard normal noise n (shape of the batch). Terms: "loss".</summary>
    public ObjectiveResult Compute(TrainingBatch batch, ReadOnlySpan<double> sigma, Tensor noise)
    {
        Draws.Check(nameof(EdmLoss), batch, sigma, noise);
        var x0 = batch.Observed;
        var dev = x0.Device;
        var xt = x0 + _draws.PerSample(sigma, s => s, dev) * noise;
        var d = Denoiser.Denoise(xt, _draws.PerSample(sigma, s => s, dev, image: false));
        var loss = Draws.WeightedSquaredError(d - x0, _draws.PerSample(sigma, Edm.LossWeight, dev));
        return new ObjectiveResult(loss, new Dictionary<string, double> { ["loss"] = loss.Item() });
    }
}
