namespace AmbientNative.Diffusion;

/// <summary>
/// How a masked <see cref="EdmPreconditioner"/> scales the network output at pixels its mask Ã hides, and (through
/// <see cref="Losses.AmbientLoss"/>) how the loss weighs them. Both choices have the same minimizer,
/// D = E[x0 | Ã⊙xt, Ã]; they differ in the target the raw network F must produce.
/// </summary>
public enum HiddenPixelPreconditioning
{
    /// <summary>
    /// As giannisdaras/ambient-diffusion (training/networks.py EDMPrecond, training/loss.py AmbientLoss): every pixel
    /// gets c_skip(σ), c_out(σ) and λ(σ). A hidden pixel reaches D only through c_out(σ)·F, and c_out(σ) ≈ σ for small
    /// σ while the value to predict (an inpainting of the pixel) does not shrink with σ, so F must learn outputs of
    /// size ~1/σ (~250 at the sampler's σmin = 0.002). Until it has, hidden pixels come out near 0 (grey).
    /// </summary>
    Reference,

    /// <summary>
    /// A hidden pixel carries no information about itself, exactly like a pixel at σ = ∞, so it gets EDM's σ = ∞
    /// coefficients: c_skip = 0 (already so, the skip path is Ã⊙x), c_out = σd, and loss weight λ(∞) = 1/σd², so that
    /// F's target there has unit scale and unit weight at every σ, as EDM's preconditioning intends. Observed pixels
    /// keep c_out(σ) and λ(σ). The two agree as σ → ∞.
    /// </summary>
    AsInfiniteNoise,
}
