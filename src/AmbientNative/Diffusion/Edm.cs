using AmbientNative.Tensors;

namespace AmbientNative.Diffusion;

/// <summary>
/// EDM's scalar pieces (Karras et al. 2022, Table 1; METHOD §1) as plain double functions of σ: preconditioning
/// coefficients, the loss weight, the training σ distribution and the sampler's σ schedule.
/// </summary>
public static class Edm
{
    /// <summary>σ_data: the std assumed for images in [−1, 1].</summary>
    public const double SigmaData = 0.5;
    public const double PMean = -1.2, PStd = 1.2;
    public const double SigmaMin = 0.002, SigmaMax = 80, Rho = 7;

    private const double Sd2 = SigmaData * SigmaData;

    /// <summary>c_skip = σd² / (σ² + σd²): how much of the noisy input passes straight through.</summary>
    public static double CSkip(double sigma) => Sd2 / (sigma * sigma + Sd2);
    /// <summary>c_out = σ·σd / √(σ² + σd²): the scale of the network's output.</summary>
    public static double COut(double sigma) => sigma * SigmaData / Math.Sqrt(sigma * sigma + Sd2);
    /// <summary>c_in = 1 / √(σ² + σd²): makes the network's input unit variance.</summary>
    public static double CIn(double sigma) => 1 / Math.Sqrt(sigma * sigma + Sd2);
    /// <summary>c_noise = ln(σ) / 4: the noise level fed to the network's embedding.</summary>
    public static double CNoise(double sigma) => Math.Log(sigma) / 4;
    /// <summary>λ(σ) = (σ² + σd²) / (σ·σd)² = 1 / c_out²: makes the effective training target of the network unit weight.</summary>
    public static double LossWeight(double sigma) => (sigma * sigma + Sd2) / (sigma * SigmaData * (sigma * SigmaData));

    /// <summary>
    /// A training noise level: ln σ ~ N(<paramref name="pMean"/>, <paramref name="pStd"/>²). Ambient Tweedie (METHOD §3)
    /// passes its data noise σn as <paramref name="floor"/>: σ = max(σ, σn).
    /// </summary>
    public static double SampleTrainingSigma(Rng rng, double pMean = PMean, double pStd = PStd, double floor = 0)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return Math.Max(Math.Exp(pMean + pStd * rng.NextNormal()), floor);
    }

    /// <summary>
    /// The Heun sampler's noise levels: σ_i = (σmax^(1/ρ) + i/(N−1)·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ for i &lt; N, and σ_N = 0.
    /// Returns N + 1 values, from σmax down to σmin, then 0.
    /// </summary>
    public static double[] SamplerSigmas(int steps, double sigmaMin = SigmaMin, double sigmaMax = SigmaMax, double rho = Rho)
    {
        if (steps < 2)
            throw new ArgumentOutOfRangeException(nameof(steps), $"Edm.SamplerSigmas: steps must be at least 2 (got {steps}).");
        if (!(sigmaMin > 0 && sigmaMax > sigmaMin && double.IsFinite(sigmaMax)))
            throw new ArgumentException($"Edm.SamplerSigmas: need 0 < sigmaMin < sigmaMax < ∞ (got sigmaMin {sigmaMin}, sigmaMax {sigmaMax}).");
        if (!(rho > 0 && double.IsFinite(rho)))
            throw new ArgumentOutOfRangeException(nameof(rho), $"Edm.SamplerSigmas: rho must be finite and positive (got {rho}).");
        double hi = Math.Pow(sigmaMax, 1 / rho), lo = Math.Pow(sigmaMin, 1 / rho);
        var sigmas = new double[steps + 1];
        for (int i = 0; i < steps; i++)
            sigmas[i] = Math.Pow(hi + (double)i / (steps - 1) * (lo - hi), rho);
        sigmas[steps] = 0;
        return sigmas;
    }
}
