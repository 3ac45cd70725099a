namespace AmbientNative.Diffusion.Sampling;

/// <summary>
/// The EDM sampler's settings (METHOD §1; Karras et al. 2022, Algorithm 2). Deterministic Heun when
/// <see cref="SChurn"/> is 0; otherwise noise is added back (churn) at every σ in [<see cref="SMin"/>, <see cref="SMax"/>].
/// </summary>
public sealed record EdmSamplerOptions
{
    /// <summary>N: noise levels σ_0 … σ_(N−1) before σ_N = 0 (18 for 32 px, 40 for 64 px); 2N − 1 denoiser calls.</summary>
    public int Steps { get; init; } = 18;
    public double SigmaMin { get; init; } = Edm.SigmaMin;
    public double SigmaMax { get; init; } = Edm.SigmaMax;
    public double Rho { get; init; } = Edm.Rho;
    /// <summary>Total churn; each step in range uses γ = min(S_churn / N, √2 − 1).</summary>
    public double SChurn { get; init; }
    public double SMin { get; init; }
    public double SMax { get; init; } = double.PositiveInfinity;
    /// <summary>Scale of the added noise (slightly above 1 offsets the denoiser's tendency to remove too much).</summary>
    public double SNoise { get; init; } = 1;

    public bool IsStochastic => SChurn > 0;

    /// <summary>γ_i at noise level σ_i: how far the step first raises the noise, σ̂ = (1 + γ)·σ.</summary>
    public double Gamma(double sigma) =>
        SChurn > 0 && sigma >= SMin && sigma <= SMax ? Math.Min(SChurn / Steps, Math.Sqrt(2) - 1) : 0;

    /// <summary>σ_0 … σ_(N−1), 0 (see <see cref="Edm.SamplerSigmas"/>).</summary>
    public double[] Sigmas() => Edm.SamplerSigmas(Steps, SigmaMin, SigmaMax, Rho);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!(SChurn >= 0 && double.IsFinite(SChurn)))
            throw new ArgumentException($"EdmSamplerOptions.SChurn: {SChurn} must be finite and ≥ 0.");
        if (!(SNoise >= 0 && double.IsFinite(SNoise)))
            throw new ArgumentException($"EdmSamplerOptions.SNoise: {SNoise} must be finite and ≥ 0.");
        if (!(SMin <= SMax) || double.IsNaN(SMin))
            throw new ArgumentException($"EdmSamplerOptions: SMin {SMin} must not exceed SMax {SMax}.");
        Sigmas(); // validates Steps, SigmaMin, SigmaMax, Rho
    }
}
