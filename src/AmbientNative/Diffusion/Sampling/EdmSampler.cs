using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Diffusion.Sampling;

/// <summary>
/// EDM's Heun sampler (METHOD §1) over any <see cref="IDenoiser"/>, and the variants built on the same loop: the
/// fixed-mask ambient sampler, the Ambient Tweedie early stop, and an inpainting restorer for memorization probes.
/// </summary>
/// <remarks>
/// Every step runs in its own <see cref="Tape"/> under <see cref="NoGrad"/>: the step's intermediates are freed when it
/// ends and only the next x is copied out, so memory stays at a few batch-sized tensors whatever the step count.
/// Random draws (churn, re-imposed noise) are made on the host from the given <see cref="Rng"/> and copied to the
/// device, so a seed gives the same samples on every backend. The returned tensor belongs to the caller.
/// </remarks>
public static class EdmSampler
{
    /// <summary>
    /// Samples x0 from x_0 = σ_max·<paramref name="noise"/> (noise ~ N(0, I), [N, C, H, W], any device). Each step i:
    /// σ̂ = (1 + γ_i)·σ_i, x̂ = x + √(σ̂² − σ_i²)·S_noise·ε; d = (x̂ − D(x̂; σ̂))/σ̂; x' = x̂ + (σ_(i+1) − σ̂)·d; and if
    /// σ_(i+1) ≠ 0, the Heun correction x' = x̂ + (σ_(i+1) − σ̂)·(d + d')/2 with d' = (x' − D(x'; σ_(i+1)))/σ_(i+1).
    /// The last step (to σ = 0) is the Euler step, which lands exactly on D(x̂; σ̂): that D is returned as is.
    /// </summary>
    /// <param name="rng">Needed when the options churn (<see cref="EdmSamplerOptions.SChurn"/> &gt; 0).</param>
    /// <param name="progress">Receives the number of completed steps (1 … N).</param>
    public static Tensor Sample(IDenoiser denoiser, Tensor noise, EdmSamplerOptions? options = null, Rng? rng = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var o = Checked(options);
        return Run(denoiser, noise, o.Sigmas(), o, rng, impose: null, progress, cancellationToken);
    }

    /// <summary>
    /// The fixed-mask ambient sampler (METHOD §2): the Heun loop on all pixels with
    /// D(x; σ) = clip(D_θ(x; σ, Ã), −1, 1) and one mask Ã per sample kept for every step (see
    /// <see cref="FixedMaskDenoiser"/>; <see cref="FixedMaskDenoiser.DrawMasks"/> draws them). The output is D at the last step.
    /// </summary>
    public static Tensor SampleAmbient(EdmPreconditioner denoiser, Tensor noise, Tensor mask, EdmSamplerOptions? options = null,
        Rng? rng = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default) =>
        Sample(new FixedMaskDenoiser(denoiser, mask), noise, options, rng, progress, cancellationToken);

    /// <summary>
    /// Ambient Tweedie's early stop (METHOD §3): Heun steps on the schedule from σ_max down to σn (the options' σ_min is
    /// replaced by <paramref name="sigmaN"/>, so all N levels are spent above σn), then the output D(x; σn). A model
    /// trained on data with noise σn has no supervision below σn, so it is never asked to go there.
    /// </summary>
    public static Tensor SampleEarlyStop(IDenoiser denoiser, Tensor noise, double sigmaN, EdmSamplerOptions? options = null,
        Rng? rng = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var o = Checked(options);
        if (!(sigmaN > 0 && sigmaN < o.SigmaMax))
            throw new ArgumentOutOfRangeException(nameof(sigmaN), $"EdmSampler.SampleEarlyStop: σn {sigmaN} must lie in (0, σmax = {o.SigmaMax}).");
        // N levels from σmax to σn: the Heun steps end at σn (σ_(N−1), pinned exactly), then one call of D there.
        var sigmas = (o with { SigmaMin = sigmaN }).Sigmas()[..^1];
        sigmas[^1] = sigmaN;
        var x = Run(denoiser, noise, sigmas, o, rng, impose: null, progress, cancellationToken);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var tape = new Tape();
            using var noGrad = NoGrad.Scope();
            var result = denoiser.Denoise(x, SigmaTensor(x, sigmaN)).Detach();
            progress?.Report(o.Steps);
            return result;
        }
        finally { x.Dispose(); }
    }

    /// <summary>
    /// Restores the unknown pixels of <paramref name="known"/> for memorization probes: the Heun loop where, at the
    /// start of every step, the known pixels (<paramref name="mask"/> = 1, [N, 1 or C, H, W]) are re-imposed at the
    /// current noise level, x ← mask⊙(known + σ_i·ε) + (1 − mask)⊙x with fresh ε, and at the end set to their exact values.
    /// </summary>
    public static Tensor Inpaint(IDenoiser denoiser, Tensor known, Tensor mask, Tensor noise, Rng rng, EdmSamplerOptions? options = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(rng);
        var o = Checked(options);
        CheckImage(noise);
        if (known.Shape != noise.Shape)
            throw new ArgumentException($"EdmSampler.Inpaint: known image {known.Shape} must have the shape of the noise {noise.Shape}.");
        var (n, c, h, w) = known.Shape.Nchw("EdmSampler.Inpaint: known image");
        var (mn, mc, mh, mw) = mask.Shape.Nchw("EdmSampler.Inpaint: mask");
        if (mn != n || mh != h || mw != w || (mc != 1 && mc != c))
            throw new ArgumentException($"EdmSampler.Inpaint: mask {mask.Shape} must be [{n}, 1, {h}, {w}] or [{n}, {c}, {h}, {w}] for images {known.Shape}.");
        Ops.SameDevice("EdmSampler.Inpaint", known, mask);
        Ops.SameDevice("EdmSampler.Inpaint", known, noise);

        // mask⊙target + (1 − mask)⊙x rather than x + mask⊙(target − x): exact at 0/1 masks, so known pixels come back bit for bit.
        using var unknown = Tensor.Empty(mask.Shape, mask.Device);
        mask.Device.Backend.Affine(mask, -1f, 1f, unknown);
        var eps = new float[known.Numel];
        Tensor Impose(Tensor x, double sigma)
        {
            var target = known;
            if (sigma > 0)
            {
                rng.FillNormal(eps);
                target = known + Owned(Tensor.FromArray(eps, known.Shape, known.Device)) * (float)sigma;
            }
            return mask * target + unknown * x;
        }
        return Run(denoiser, noise, o.Sigmas(), o, rng, Impose, progress, cancellationToken);
    }

    /// <summary>
    /// The loop: from x = σ_0·noise through the levels <paramref name="sigmas"/> (decreasing; the last may be 0). Returns x at
    /// the last level, or D(x̂; σ̂) of the last step when that level is 0. <paramref name="impose"/>, if given, maps x at
    /// the start of each step (with σ_i) and the final result (with 0), inside the step's tape.
    /// </summary>
    internal static Tensor Run(IDenoiser denoiser, Tensor noise, double[] sigmas, EdmSamplerOptions o, Rng? rng,
        Func<Tensor, double, Tensor>? impose, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        CheckImage(noise);
        if (o.IsStochastic && rng == null)
            throw new ArgumentException($"EdmSampler: S_churn = {o.SChurn} needs an Rng for the added noise.");
        var churnNoise = o.IsStochastic ? new float[noise.Numel] : null;

        Tensor x;
        using (new Tape())
        using (NoGrad.Scope())
            x = (noise * (float)sigmas[0]).Detach();
        try
        {
            for (int i = 0; i + 1 < sigmas.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                double sigma = sigmas[i], next = sigmas[i + 1];
                Tensor xNext;
                using (new Tape())
                using (NoGrad.Scope())
                {
                    var xi = impose?.Invoke(x, sigma) ?? x;
                    double sHat = sigma + o.Gamma(sigma) * sigma;
                    var xHat = xi;
                    if (sHat > sigma)
                    {
                        rng!.FillNormal(churnNoise);
                        var eps = Owned(Tensor.FromArray(churnNoise, x.Shape, x.Device));
                        xHat = xi + eps * (float)(Math.Sqrt(sHat * sHat - sigma * sigma) * o.SNoise);
                    }
                    var d = denoiser.Denoise(xHat, SigmaTensor(x, sHat));
                    Tensor result;
                    if (next == 0)
                        result = d; // x̂ + (0 − σ̂)·(x̂ − D)/σ̂ = D exactly; skip the rounding
                    else
                    {
                        // Each update is one fused pass (Ops.SamplerStep): Euler, then the Heun correction.
                        var xEuler = Ops.SamplerStep(xHat, d, null, null, sHat, next);
                        var d2 = denoiser.Denoise(xEuler, SigmaTensor(x, next));
                        result = Ops.SamplerStep(xHat, d, xEuler, d2, sHat, next);
                    }
                    if (next == 0 && impose != null) result = impose(result, 0);
                    xNext = result.Detach();
                }
                x.Dispose();
                x = xNext;
                progress?.Report(i + 1);
            }
            return x;
        }
        catch
        {
            x.Dispose();
            throw;
        }
    }

    private static EdmSamplerOptions Checked(EdmSamplerOptions? options)
    {
        var o = options ?? new EdmSamplerOptions();
        o.Validate();
        return o;
    }

    private static void CheckImage(Tensor noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        noise.Shape.Nchw("EdmSampler: noise");
    }

    /// <summary>σ [N] for every sample of <paramref name="like"/>, owned by the current tape.</summary>
    private static Tensor SigmaTensor(Tensor like, double sigma) =>
        Owned(Tensor.Full(new Shape(like.Shape[0]), (float)sigma, like.Device));

    private static Tensor Owned(Tensor t) => Tape.Own(t);
}
