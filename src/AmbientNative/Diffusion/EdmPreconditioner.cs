using AmbientNative.Autograd;
using AmbientNative.Nn;
using AmbientNative.Tensors;

namespace AmbientNative.Diffusion;

/// <summary>
/// EDM preconditioning (METHOD §1) around a raw network F: D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise), with the
/// coefficients of <see cref="Edm"/>. The network knows nothing of σ; losses and samplers only see D.
/// </summary>
/// <remarks>
/// <para>
/// <b>Masked input</b> (Ambient Diffusion, METHOD §2), used when the network takes more input channels than it outputs:
/// D(x; σ, Ã) = c_skip·(Ã⊙x) + c_out·F(concat[c_in·(Ã⊙x), Ã], c_noise). The network sees only the observed pixels of x,
/// and so does the skip path: D is a function of (Ã⊙x, Ã) alone, which is what makes its optimum E[x0 | Ã⊙xt, Ã].
/// c_in is applied after masking (it commutes with it, and Ã⊙x is then computed once and shared with the skip path).
/// The mask channels are NOT scaled by c_in: they are an indicator, not a noisy image, and scaling them by
/// 1/√(σ²+σd²) would shrink them to ~0.01 at σ = 80 so the network would have to relearn "observed" per noise level.
/// (giannisdaras/ambient-diffusion scales the whole concatenation; this is a deliberate difference.)
/// </para>
/// <para>
/// <b>Hidden pixels</b>: with <see cref="HiddenPixels"/> = <see cref="HiddenPixelPreconditioning.Reference"/> (the
/// default, the reference code's equation) c_out(σ) multiplies F everywhere; with
/// <see cref="HiddenPixelPreconditioning.AsInfiniteNoise"/> the output scale is c_out(σ) where Ã = 1 and σd where
/// Ã = 0: D = c_skip·(Ã⊙x) + (Ã·c_out + (1 − Ã)·σd)·F. Done here, above the fused input op, which is the same for both.
/// </para>
/// <para>
/// σ arrives as a device tensor [N] and the coefficients are computed from it with tensor ops (no host read, so no
/// synchronisation on a GPU). Call inside a <see cref="Tape"/>: it owns every intermediate and the result.
/// </para>
/// </remarks>
public sealed class EdmPreconditioner : IDenoiser
{
    public EdmPreconditioner(INoiseConditionedNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
        ImageChannels = network.OutChannels;
        MaskChannels = network.InChannels - network.OutChannels;
        if (ImageChannels <= 0 || !(MaskChannels == 0 || MaskChannels == 1 || MaskChannels == ImageChannels))
            throw new ArgumentException(
                $"EdmPreconditioner: a network with {network.InChannels} input and {network.OutChannels} output channels is neither " +
                $"unmasked (in = out) nor masked (in = out + 1 shared mask channel, or in = 2·out per-channel masks).");
    }

    public INoiseConditionedNetwork Network { get; }
    /// <summary>Channels of x and of D (the network's output channels).</summary>
    public int ImageChannels { get; }
    /// <summary>Mask channels the network takes after the image channels: 0 (unmasked), 1 (shared) or <see cref="ImageChannels"/>.</summary>
    public int MaskChannels { get; }
    public bool IsMasked => MaskChannels > 0;

    /// <summary>
    /// The output scale at pixels the mask hides (masked networks only). A model must be sampled with the choice it
    /// was trained with; <see cref="Losses.AmbientLoss"/> reads it to weigh those pixels to match.
    /// </summary>
    public HiddenPixelPreconditioning HiddenPixels { get; init; } = HiddenPixelPreconditioning.Reference;

    /// <summary>D(x; σ) for an unmasked network. x [N, C, H, W], σ [N] (every σ &gt; 0).</summary>
    public Tensor Denoise(Tensor x, Tensor sigma)
    {
        if (IsMasked)
            throw new InvalidOperationException(
                $"EdmPreconditioner: the network takes {MaskChannels} mask channel(s); call Denoise(x, sigma, mask), or wrap it in a FixedMaskDenoiser to sample.");
        int n = CheckImageAndSigma(x, sigma);
        var (cSkip, cOut, cIn, cNoise) = Coefficients(sigma, n);
        var f = Forward(x * cIn, cNoise, x.Shape);
        return cSkip * x + cOut * f;
    }

    /// <summary>
    /// D(x; σ, Ã) for a masked network: x [N, C, H, W], σ [N], mask Ã [N, M, H, W] with 1 = observed, where M is
    /// <see cref="MaskChannels"/>, or M = C when the mask is given expanded over the image channels (as
    /// <see cref="Corruption.CorruptedDataset.CopyBatch"/> does) and the network takes one shared mask channel: then
    /// all channels are used for masking and channel 0 is fed to the network.
    /// </summary>
    public Tensor Denoise(Tensor x, Tensor sigma, Tensor mask)
    {
        int n = CheckMasked(x, sigma, mask, out bool expanded);
        var (cSkip, cOut, cIn, cNoise) = Coefficients(sigma, n);
        var masked = x * mask;                                     // Ã ⊙ x (a 1-channel mask broadcasts over C)
        var maskIn = expanded ? Ops.Slice(mask, 1, 0, 1) : mask;   // unscaled indicator channels
        var f = Forward(Ops.Concat(1, masked * cIn, maskIn), cNoise, x.Shape);
        return cSkip * masked + OutputScale(cOut, mask) * f;
    }

    /// <summary>
    /// <see cref="Denoise(Tensor, Tensor, Tensor)"/> at x = y + σ·n, with the noising, masking, c_in scaling and
    /// concatenation done in one pass (<see cref="Ops.AmbientInput"/>): the same D to float rounding. y, noise and
    /// the mask are data (no gradient flows to them).
    /// </summary>
    public Tensor DenoiseNoised(Tensor y, Tensor noise, Tensor sigma, Tensor mask)
    {
        int n = CheckMasked(y, sigma, mask, out _);
        var (cSkip, cOut, _, cNoise) = Coefficients(sigma, n);
        var (masked, input) = Ops.AmbientInput(y, noise, sigma, mask, MaskChannels, (float)Edm.SigmaData);
        var f = Forward(input, cNoise, y.Shape);
        return cSkip * masked + OutputScale(cOut, mask) * f;
    }

    /// <summary>
    /// c_out [N, 1, 1, 1] (Reference), or Ã·c_out + (1 − Ã)·σd = (c_out − σd)·Ã + σd [N, M, H, W] (AsInfiniteNoise;
    /// a 1-channel mask broadcasts over the image channels).
    /// </summary>
    private Tensor OutputScale(Tensor cOut, Tensor mask)
    {
        const float sd = (float)Edm.SigmaData;
        return HiddenPixels switch
        {
            HiddenPixelPreconditioning.Reference => cOut,
            HiddenPixelPreconditioning.AsInfiniteNoise => (cOut - sd) * mask + sd,
            _ => throw new InvalidOperationException($"EdmPreconditioner: unknown hidden-pixel preconditioning {HiddenPixels}."),
        };
    }

    /// <summary>Checks x, σ and the mask of a masked network; expanded: a C-channel mask for a 1-mask-channel network.</summary>
    private int CheckMasked(Tensor x, Tensor sigma, Tensor mask, out bool expanded)
    {
        if (!IsMasked)
            throw new InvalidOperationException("EdmPreconditioner: the network takes no mask channels; call Denoise(x, sigma).");
        int n = CheckImageAndSigma(x, sigma);
        var (_, c, h, w) = x.Shape.Nchw("EdmPreconditioner: x");
        var (mn, mc, mh, mw) = mask.Shape.Nchw("EdmPreconditioner: mask");
        expanded = MaskChannels == 1 && mc == c;
        if (mn != n || mh != h || mw != w || (mc != MaskChannels && !expanded))
            throw new ArgumentException(
                $"EdmPreconditioner: mask {mask.Shape} does not fit x {x.Shape}; the network takes {MaskChannels} mask channel(s), so the mask must be [{n}, {MaskChannels}, {h}, {w}]" +
                (MaskChannels == 1 ? $" or [{n}, {c}, {h}, {w}]." : "."));
        Ops.SameDevice("EdmPreconditioner", x, mask);
        return n;
    }

    private Tensor Forward(Tensor input, Tensor cNoise, Shape imageShape)
    {
        var f = Network.Forward(input, cNoise);
        if (f.Shape != imageShape)
            throw new InvalidOperationException($"EdmPreconditioner: the network returned {f.Shape} for input {input.Shape}; expected {imageShape}.");
        return f;
    }

    /// <summary>c_skip, c_out, c_in as [N, 1, 1, 1] (per-sample scalars that broadcast over C, H, W) and c_noise as [N].</summary>
    private static (Tensor CSkip, Tensor COut, Tensor CIn, Tensor CNoise) Coefficients(Tensor sigma, int n)
    {
        const float sd = (float)Edm.SigmaData, sd2 = sd * sd;
        var s = Ops.Reshape(sigma, n, 1, 1, 1);
        var v = Ops.Square(s) + sd2;                  // σ² + σd²
        var cIn = Ops.PowScalar(v, -0.5f);            // 1 / √(σ² + σd²)
        var cSkip = Ops.PowScalar(v, -1f) * sd2;      // σd² / (σ² + σd²)
        var cOut = s * cIn * sd;                      // σ·σd / √(σ² + σd²)
        var cNoise = Ops.Log(sigma) * 0.25f;          // ln(σ) / 4
        return (cSkip, cOut, cIn, cNoise);
    }

    private int CheckImageAndSigma(Tensor x, Tensor sigma)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(sigma);
        var (n, c, _, _) = x.Shape.Nchw("EdmPreconditioner: x");
        if (c != ImageChannels)
            throw new ArgumentException($"EdmPreconditioner: x {x.Shape} has {c} channels; the network denoises {ImageChannels}.");
        if (sigma.Rank != 1 || sigma.Shape[0] != n)
            throw new ArgumentException($"EdmPreconditioner: sigma {sigma.Shape} must be [{n}], one noise level per sample of x {x.Shape}.");
        Ops.SameDevice("EdmPreconditioner", x, sigma);
        if (Tape.Current == null)
            throw new InvalidOperationException("EdmPreconditioner: call inside a Tape scope; it owns the intermediates and the result.");
        return n;
    }
}
