using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// The pointwise update of one step of EDM's Heun sampler (METHOD §1), from x̂ at σ̂ to σ' with h = σ' − σ̂:
/// <code>
/// Euler: y = x̂ + h·(x̂ − D₁)/σ̂
/// Heun:  y = x̂ + (h/2)·((x̂ − D₁)/σ̂ + (x_E − D₂)/σ')     (x_E the Euler result, D₂ = D(x_E; σ'))
/// </code>
/// The coefficients h/σ̂ (Euler), h/(2σ̂) and h/(2σ') (Heun) are formed in float64 on the host and rounded to T
/// once, so every backend gets the same constants.
/// </summary>
public static class SamplerRef
{
    /// <param name="xEuler">Empty for the Euler update; with <paramref name="d2"/>, the Heun correction.</param>
    public static void Step<T>(ReadOnlySpan<T> xHat, ReadOnlySpan<T> d1, ReadOnlySpan<T> xEuler, ReadOnlySpan<T> d2, Span<T> y,
        double sigmaHat, double sigmaNext) where T : IFloatingPointIeee754<T>
    {
        var (c1, c2) = Coefficients(sigmaHat, sigmaNext, heun: !xEuler.IsEmpty);
        T a = T.CreateChecked(c1), b = T.CreateChecked(c2);
        if (xEuler.IsEmpty)
            for (int i = 0; i < y.Length; i++) y[i] = xHat[i] + a * (xHat[i] - d1[i]);
        else
            for (int i = 0; i < y.Length; i++) y[i] = xHat[i] + a * (xHat[i] - d1[i]) + b * (xEuler[i] - d2[i]);
    }

    /// <summary>(c₁, c₂) with y = x̂ + c₁·(x̂ − D₁) + c₂·(x_E − D₂); c₂ = 0 for Euler.</summary>
    public static (double C1, double C2) Coefficients(double sigmaHat, double sigmaNext, bool heun)
    {
        if (!(sigmaHat > 0) || !(sigmaNext >= 0) || (heun && sigmaNext == 0))
            throw new ArgumentOutOfRangeException(nameof(sigmaNext),
                $"sampler step: σ̂ = {sigmaHat} must be > 0 and σ' = {sigmaNext} ≥ 0 (> 0 for the Heun correction).");
        double h = sigmaNext - sigmaHat;
        return heun ? (h / (2 * sigmaHat), h / (2 * sigmaNext)) : (h / sigmaHat, 0);
    }
}
